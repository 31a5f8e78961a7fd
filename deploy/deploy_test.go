package deploy_test

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/gatehouse-dev/gatehouse/deploy"
	"github.com/gatehouse-dev/gatehouse/plugins/mcp-server/restmcp"
)

// root is the repository root: the parent of this package's directory.
func root(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	r := filepath.Dir(wd)
	_, err = os.Stat(filepath.Join(r, "go.mod"))
	require.NoError(t, err, "go.mod not found at %s", r)
	return r
}

func dockerfile(t *testing.T) *deploy.Dockerfile {
	t.Helper()
	d, err := deploy.ParseDockerfile(filepath.Join(root(t), deploy.DockerfilePath))
	require.NoError(t, err)
	return d
}

func project(t *testing.T) *types.Project {
	t.Helper()
	p, err := deploy.LoadCompose(context.Background(), root(t), nil, deploy.EnvExamplePath)
	require.NoError(t, err, "docker compose with .env copied from %s must load", deploy.EnvExamplePath)
	return p
}

func stage(t *testing.T, d *deploy.Dockerfile, name string) *instructions.Stage {
	t.Helper()
	st := d.Stage(name)
	require.NotNil(t, st, "%s has no stage %q", deploy.DockerfilePath, name)
	return st
}

// runs returns the command lines of the RUN instructions of st.
func runs(st *instructions.Stage) []string {
	var out []string
	for _, r := range deploy.Commands[*instructions.RunCommand](st) {
		out = append(out, strings.Join(r.CmdLine, " "))
	}
	return out
}

func env(st *instructions.Stage) map[string]string {
	m := map[string]string{}
	for _, e := range deploy.Commands[*instructions.EnvCommand](st) {
		for _, kv := range e.Env {
			m[kv.Key] = kv.Value
		}
	}
	return m
}

func goDirective(t *testing.T) string {
	t.Helper()
	f, err := os.Open(filepath.Join(root(t), "go.mod"))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("go.mod has no go directive")
	return ""
}

var pinnedTag = regexp.MustCompile(`^[a-z0-9./-]+:[0-9]+\.[0-9]+(\.[0-9]+)?(-[a-z0-9.-]+)?$`)

func TestDockerfileStagesAndPinnedBases(t *testing.T) {
	d := dockerfile(t)
	var names []string
	for _, st := range d.Stages {
		names = append(names, st.Name)
	}
	require.Equal(t, []string{"console", "build", "runtime"}, names, "the console, then binary and plugins, then the runtime image")

	for _, st := range d.Stages {
		img := d.BaseImage(&st)
		require.Regexp(t, pinnedTag, img, "stage %s: base image must be pinned to a version (no latest, no floating major)", st.Name)
		require.True(t, strings.HasSuffix(img, "-bookworm") || strings.HasSuffix(img, "-bookworm-slim") || strings.HasPrefix(img, "debian:12."),
			"stage %s: %s must be Debian bookworm, like the others: plugins load only against the glibc they were built with", st.Name, img)
	}
	require.Equal(t, "golang:"+goDirective(t)+"-bookworm", d.BaseImage(stage(t, d, "build")),
		"the Go image must be the version go.mod asks for")
	require.Regexp(t, `^debian:12\.[0-9]+-slim$`, d.BaseImage(stage(t, d, "runtime")), "a slim Debian bookworm runtime")
}

func TestDockerfileBuildsConsoleFromLockfile(t *testing.T) {
	d := dockerfile(t)
	st := stage(t, d, "console")
	require.True(t, strings.HasPrefix(d.BaseImage(st), "node:"))
	var copied []string
	for _, c := range deploy.Commands[*instructions.CopyCommand](st) {
		copied = append(copied, c.SourcePaths...)
	}
	require.Contains(t, copied, "web/package-lock.json", "npm ci needs the committed lockfile")
	_, err := os.Stat(filepath.Join(root(t), "web", "package-lock.json"))
	require.NoError(t, err, "web/package-lock.json must be committed")
	r := runs(st)
	require.True(t, slices.ContainsFunc(r, func(s string) bool { return strings.Contains(s, "npm ci") }), "RUN npm ci: %v", r)
	require.True(t, slices.ContainsFunc(r, func(s string) bool { return strings.Contains(s, "npm run build") }), "RUN npm run build: %v", r)
}

func TestDockerfileBuildStageVerifiesPlugins(t *testing.T) {
	d := dockerfile(t)
	st := stage(t, d, "build")
	require.Equal(t, "1", env(st)["CGO_ENABLED"], "plugins need cgo")

	// The console built in stage 1 is embedded: web/dist is copied in
	// before make runs.
	consoleAt, makeAt, verifyAt := -1, -1, -1
	makes := 0
	for i, c := range st.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			if c.From == "console" && slices.ContainsFunc(c.SourcePaths, func(s string) bool { return strings.HasSuffix(strings.TrimSuffix(s, "/"), "web/dist") }) {
				consoleAt = i
			}
		case *instructions.RunCommand:
			line := strings.Join(c.CmdLine, " ")
			if strings.Contains(line, "make build") {
				makes++
				makeAt = i
			}
			if strings.Contains(line, "verify-plugins") {
				verifyAt = i
				require.Regexp(t, `make build.*&&.*gatehouse verify-plugins --plugin-dir build/plugins`, line,
					"verify-plugins runs on what make just built, and a failure fails the build")
			}
		}
	}
	require.Equal(t, 1, makes, "binary and plugins come from one make invocation (identical toolchain and flags)")
	require.GreaterOrEqual(t, consoleAt, 0, "COPY --from=console …/web/dist web/dist")
	require.Less(t, consoleAt, makeAt, "the console must be in place before make embeds it")
	require.GreaterOrEqual(t, verifyAt, makeAt, "verify-plugins must run after make build")
}

func TestDockerfileRuntimeImage(t *testing.T) {
	d := dockerfile(t)
	st := d.Final()
	require.Equal(t, "runtime", st.Name)

	users := deploy.Commands[*instructions.UserCommand](st)
	require.NotEmpty(t, users, "the runtime must set USER")
	user := users[len(users)-1].User
	uid, _, _ := strings.Cut(user, ":")
	require.NotContains(t, []string{"", "root", "0"}, uid, "the process must not run as root")
	require.True(t, slices.ContainsFunc(runs(st), func(s string) bool { return strings.Contains(s, "--uid "+uid) }),
		"USER %s must be created in the image (useradd --uid %s)", user, uid)

	var volumes []string
	for _, v := range deploy.Commands[*instructions.VolumeCommand](st) {
		volumes = append(volumes, v.Volumes...)
	}
	require.ElementsMatch(t, []string{"/data", "/var/log/gatehouse"}, volumes)

	var ports []string
	for _, e := range deploy.Commands[*instructions.ExposeCommand](st) {
		ports = append(ports, e.Ports...)
	}
	require.ElementsMatch(t, []string{"8080", "8443", "8001"}, ports)

	hcs := deploy.Commands[*instructions.HealthCheckCommand](st)
	require.Len(t, hcs, 1)
	test := hcs[0].Health.Test
	require.Equal(t, "CMD", test[0], "exec form: the slim image needs no shell for it")
	require.Equal(t, []string{"CMD", "gatehouse", "healthcheck"}, test,
		"the binary checks its own /readyz (it follows GATEHOUSE_CONSOLE_ADDR and needs no curl)")
	require.True(t, slices.ContainsFunc(deploy.Commands[*instructions.CopyCommand](st), func(c *instructions.CopyCommand) bool {
		return c.DestPath == "/usr/local/bin/gatehouse"
	}), "gatehouse must be on the PATH for the health check")
	require.Greater(t, hcs[0].Health.StartPeriod, time.Duration(0), "a start period covers plugin verification at start")

	sigs := deploy.Commands[*instructions.StopSignalCommand](st)
	require.Len(t, sigs, 1)
	require.Equal(t, "SIGTERM", sigs[0].Signal)

	eps := deploy.Commands[*instructions.EntrypointCommand](st)
	require.Len(t, eps, 1)
	require.False(t, eps[0].PrependShell, "exec form, so that SIGTERM reaches gatehouse and not a shell")
	require.Equal(t, []string{"/usr/local/bin/gatehouse", "serve"}, []string(eps[0].CmdLine))

	e := env(st)
	require.Equal(t, "/data", e["GATEHOUSE_DATA_DIR"])
	require.Equal(t, "/opt/gatehouse/plugins", e["GATEHOUSE_PLUGIN_DIR"])
	require.Equal(t, "/var/log/gatehouse/gateway.log", e["GATEHOUSE_LOG_FILE"])

	copies := map[string]string{}
	for _, c := range deploy.Commands[*instructions.CopyCommand](st) {
		require.Equal(t, "build", c.From, "the runtime takes only build outputs")
		for _, s := range c.SourcePaths {
			copies[strings.TrimSuffix(s, "/")] = c.DestPath
		}
	}
	require.Equal(t, map[string]string{
		"/src/build/gatehouse": "/usr/local/bin/gatehouse",
		"/src/build/plugins":   "/opt/gatehouse/plugins/",
	}, copies, "the binary and every plugin with manifest.json")
	require.True(t, slices.ContainsFunc(runs(st), func(s string) bool { return strings.Contains(s, "gatehouse verify-plugins") }),
		"the plugins are verified against the runtime image's libraries too")

	// OCI labels take their values from build arguments declared in the
	// stage: expanded as docker build --build-arg would.
	var args []string
	for _, a := range deploy.Commands[*instructions.ArgCommand](st) {
		for _, kv := range a.Args {
			args = append(args, kv.Key)
		}
	}
	buildArgs := map[string]string{"VERSION": "v9.8.7", "REVISION": "0123abcd", "SOURCE": "https://example.com/gatehouse"}
	var argEnv []string
	for k, v := range buildArgs {
		if slices.Contains(args, k) {
			argEnv = append(argEnv, k+"="+v)
		}
	}
	lex := shell.NewLex('\\')
	labels := map[string]string{}
	for _, l := range deploy.Commands[*instructions.LabelCommand](st) {
		require.NoError(t, l.Expand(func(w string) (string, error) {
			v, _, err := lex.ProcessWord(w, shell.EnvsFromSlice(argEnv))
			return v, err
		}))
		for _, kv := range l.Labels {
			labels[kv.Key] = kv.Value
		}
	}
	for label, arg := range map[string]string{"version": "VERSION", "revision": "REVISION", "source": "SOURCE"} {
		require.Equal(t, buildArgs[arg], labels["org.opencontainers.image."+label],
			"OCI label %s from --build-arg %s (declared with ARG in the runtime stage)", label, arg)
	}
}

func TestDockerfileSourcesAreInTheBuildContext(t *testing.T) {
	r := root(t)
	f, err := os.Open(filepath.Join(r, ".dockerignore"))
	require.NoError(t, err)
	patterns, err := ignorefile.ReadAll(f)
	_ = f.Close()
	require.NoError(t, err)
	pm, err := patternmatcher.New(patterns)
	require.NoError(t, err)
	ignored := func(p string) bool {
		m, err := pm.MatchesOrParentMatches(p)
		require.NoError(t, err)
		return m
	}
	for _, p := range []string{"web/node_modules/react/index.js", "build/gatehouse", "build/plugins/mcp-server.so",
		"data/gatehouse.db", "web/dist/index.html", ".git/HEAD", ".env", "deploy/.env"} {
		require.True(t, ignored(p), "%s must stay out of the build context", p)
	}

	d := dockerfile(t)
	for _, st := range d.Stages {
		for _, c := range deploy.Commands[*instructions.CopyCommand](&st) {
			if c.From != "" {
				continue
			}
			for _, src := range c.SourcePaths {
				if src == "." {
					continue
				}
				src = strings.TrimSuffix(src, "/")
				require.False(t, ignored(src), "stage %s copies %s, which .dockerignore excludes", st.Name, src)
				_, err := os.Stat(filepath.Join(r, src))
				require.NoError(t, err, "stage %s copies %s, which is not in the repository", st.Name, src)
			}
		}
	}
	for _, p := range []string{"go.mod", "go.sum", "Makefile", "web/placeholder", "web/embed.go", "server/cmd/gatehouse/main.go", "plugins/mcp-server"} {
		require.False(t, ignored(p), "%s is needed by make build in the image", p)
	}
}

func TestComposeRedis(t *testing.T) {
	p := project(t)
	redis, ok := p.Services[deploy.RedisService]
	require.True(t, ok)
	require.Regexp(t, `^redis:[0-9]+\.[0-9]+\.[0-9]+(-[a-z]+)?$`, redis.Image, "the official image, pinned to a release")

	cmd := []string(redis.Command)
	require.Equal(t, "redis-server", cmd[0], "the image's entrypoint drops root only for redis-server")
	require.Equal(t, "yes", flagValue(t, cmd, "--appendonly"), "AOF persistence")
	password := flagValue(t, cmd, "--requirepass")
	require.Equal(t, envValue(t, redis, "GATEHOUSE_REDIS_PASSWORD", "REDISCLI_AUTH"), password, "redis-cli in the health check uses the same password")
	require.Equal(t, readEnvFile(t)["GATEHOUSE_REDIS_PASSWORD"], password, "the password comes from the env file")

	dataVol := volumeAt(t, redis, "/data")
	require.Equal(t, types.VolumeTypeVolume, dataVol.Type, "the AOF lives on a named volume")
	require.Contains(t, p.Volumes, dataVol.Source)

	hc := redis.HealthCheck
	require.NotNil(t, hc)
	require.Contains(t, strings.Join(hc.Test, " "), "redis-cli ping")
	require.NotContains(t, strings.Join(hc.Test, " "), password, "the password stays off the health check's command line")
	require.NotNil(t, hc.Interval)
	require.NotNil(t, hc.Retries)
}

func TestComposeGatehouse(t *testing.T) {
	r := root(t)
	p := project(t)
	g, ok := p.Services[deploy.GatehouseService]
	require.True(t, ok)

	require.NotNil(t, g.Build)
	require.Equal(t, r, g.Build.Context)
	require.Equal(t, deploy.DockerfilePath, g.Build.Dockerfile)
	require.NotEmpty(t, g.Image, "the built image gets a name; GATEHOUSE_IMAGE selects a published one")

	dep, ok := g.DependsOn[deploy.RedisService]
	require.True(t, ok, "gatehouse depends on redis")
	require.Equal(t, types.ServiceConditionHealthy, dep.Condition, "start after Redis answers its health check")

	host, port, err := net.SplitHostPort(envValue(t, g, "GATEHOUSE_REDIS_ADDR"))
	require.NoError(t, err)
	require.Equal(t, deploy.RedisService, host, "Redis by its service name on the compose network")
	require.Equal(t, "6379", port)
	redis := p.Services[deploy.RedisService]
	require.Equal(t, flagValue(t, redis.Command, "--requirepass"), envValue(t, g, "GATEHOUSE_REDIS_PASSWORD"), "gatehouse and redis share the password")

	envFile := readEnvFile(t)
	require.Equal(t, envFile["GATEHOUSE_ADMIN_USER"], envValue(t, g, "GATEHOUSE_ADMIN_USER"), "admin bootstrap from the env file")
	require.Equal(t, envFile["GATEHOUSE_ADMIN_PASSWORD"], envValue(t, g, "GATEHOUSE_ADMIN_PASSWORD"), "admin bootstrap from the env file")
	require.GreaterOrEqual(t, len(envFile["GATEHOUSE_ADMIN_PASSWORD"]), 8, "gatehouse refuses bootstrap passwords under 8 characters")

	published := map[uint32]string{}
	for _, pt := range g.Ports {
		published[pt.Target] = pt.Published
	}
	require.Equal(t, map[uint32]string{8080: "8080", 8001: "8001"}, published, "gateway on 8080, console on 8001")

	// The named volumes sit where the image keeps its data and logs.
	d := dockerfile(t)
	imgEnv := env(d.Final())
	for _, dir := range []string{imgEnv["GATEHOUSE_DATA_DIR"], filepath.Dir(imgEnv["GATEHOUSE_LOG_FILE"])} {
		v := volumeAt(t, g, dir)
		require.Equal(t, types.VolumeTypeVolume, v.Type, "%s on a named volume", dir)
		require.Contains(t, p.Volumes, v.Source)
	}

	cfg := envValue(t, g, "GATEHOUSE_CONFIG_FILE")
	bind := volumeAt(t, g, cfg)
	require.Equal(t, types.VolumeTypeBind, bind.Type)
	require.Equal(t, filepath.Join(r, "deploy", "gatehouse.yaml"), bind.Source, "the example configuration is applied at start")
	require.True(t, bind.ReadOnly)

	timeout, err := time.ParseDuration(envValue(t, g, "GATEHOUSE_SHUTDOWN_TIMEOUT"))
	require.NoError(t, err)
	require.NotNil(t, g.StopGracePeriod)
	require.Greater(t, time.Duration(*g.StopGracePeriod), timeout,
		"Docker must wait longer than gatehouse drains, or it kills in-flight requests")
}

func TestComposeNamesWhatIsMissing(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.env")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	_, err := deploy.LoadCompose(context.Background(), root(t), nil, empty)
	require.Error(t, err, "without the env file docker compose must refuse to start")
	require.Contains(t, err.Error(), "copy deploy/.env.example to .env", "the error says what to do")
}

func TestEnvExampleKeysAreUsed(t *testing.T) {
	compose, err := os.ReadFile(filepath.Join(root(t), deploy.ComposePath))
	require.NoError(t, err)
	for k := range readEnvFile(t) {
		require.Contains(t, string(compose), "${"+k, "%s in %s does nothing: docker-compose.yaml does not use it", k, deploy.EnvExamplePath)
	}
}

func TestContainerLayout(t *testing.T) {
	c, err := deploy.LoadContainer(context.Background(), root(t), nil, deploy.EnvExamplePath)
	require.NoError(t, err)
	require.Contains(t, c.Env, "GATEHOUSE_REDIS_ADDR=redis:6379", "the compose environment is on top of the image's")
	require.Contains(t, c.Env, "GATEHOUSE_PLUGIN_DIR=/opt/gatehouse/plugins")
	require.Contains(t, c.Copies, deploy.Copy{Src: "build/plugins", Dst: "/opt/gatehouse/plugins/"}, "sources relative to the build stage's WORKDIR")
	require.Equal(t, []string{"/usr/local/bin/gatehouse", "serve"}, c.Entrypoint)
	require.ElementsMatch(t, []uint32{8080, 8001}, c.Ports)
}

// exampleConfig is the part of the declarative file this package can read
// without the server's internal packages; the smoke test applies the whole
// file with the real binary.
type exampleConfig struct {
	Services []struct {
		Name      string `yaml:"name"`
		Endpoints []struct {
			URL string `yaml:"url"`
		} `yaml:"endpoints"`
	} `yaml:"services"`
	Routes []struct {
		Name    string `yaml:"name"`
		Service string `yaml:"service"`
	} `yaml:"routes"`
	PluginInstances []yaml.Node `yaml:"pluginInstances"`
	MCPServers      []yaml.Node `yaml:"mcpServers"`
}

func TestExampleConfigWorksOffline(t *testing.T) {
	r := root(t)
	data, err := os.ReadFile(filepath.Join(r, "deploy", "gatehouse.yaml"))
	require.NoError(t, err)
	var top map[string]yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &top))
	for k := range top {
		require.Contains(t, []string{"services", "routes", "pluginInstances", "mcpServers"}, k, "unknown top-level key")
	}
	var cfg exampleConfig
	require.NoError(t, yaml.Unmarshal(data, &cfg))
	require.Len(t, cfg.Routes, 1, "one example route")
	require.Len(t, cfg.MCPServers, 1, "one example REST-to-MCP server")

	services := map[string]bool{}
	var upstreams []string
	for _, s := range cfg.Services {
		services[s.Name] = true
		for _, e := range s.Endpoints {
			upstreams = append(upstreams, e.URL)
		}
	}
	for _, rt := range cfg.Routes {
		require.True(t, services[rt.Service], "route %s uses service %q, which the file does not define", rt.Name, rt.Service)
	}

	for i := range cfg.MCPServers {
		raw, err := yaml.Marshal(&cfg.MCPServers[i])
		require.NoError(t, err)
		def, err := restmcp.Parse(raw, "application/yaml")
		require.NoError(t, err, "MCP server %d is a valid definition", i)
		srv, err := restmcp.Compile(def)
		require.NoError(t, err, "MCP server %s compiles (templates parse)", def.Name)
		require.NotEmpty(t, srv.Tools())
		for _, tool := range srv.Tools() {
			req, err := srv.Render(tool.Name, map[string]any{}, nil)
			require.NoError(t, err, "tool %s renders", tool.Name)
			upstreams = append(upstreams, req.URL)
		}
	}

	// Everything the example calls is the container itself, so that it
	// works without a network and in the smoke test.
	c, err := deploy.LoadContainer(context.Background(), r, nil, deploy.EnvExamplePath)
	require.NoError(t, err)
	for _, u := range upstreams {
		pu, err := url.Parse(u)
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1", pu.Hostname(), "%s must stay inside the container", u)
		require.True(t, slices.ContainsFunc(c.Ports, func(p uint32) bool { return pu.Port() == strconv.FormatUint(uint64(p), 10) }),
			"%s must be a port the container listens on (%v)", u, c.Ports)
	}
}

func flagValue(t *testing.T, args []string, flag string) string {
	t.Helper()
	i := slices.Index(args, flag)
	require.GreaterOrEqual(t, i, 0, "%s in %v", flag, args)
	require.Less(t, i+1, len(args), "%s needs a value", flag)
	return args[i+1]
}

// envValue returns the first of keys set in the service's environment.
func envValue(t *testing.T, s types.ServiceConfig, keys ...string) string {
	t.Helper()
	for _, k := range keys {
		if v, ok := s.Environment[k]; ok && v != nil {
			return *v
		}
	}
	t.Fatalf("service %s sets none of %v", s.Name, keys)
	return ""
}

func volumeAt(t *testing.T, s types.ServiceConfig, target string) types.ServiceVolumeConfig {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Target == target {
			return v
		}
	}
	t.Fatalf("service %s mounts nothing at %s", s.Name, target)
	return types.ServiceVolumeConfig{}
}

func readEnvFile(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(t), deploy.EnvExamplePath))
	require.NoError(t, err)
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s: %q is not KEY=VALUE", deploy.EnvExamplePath, line)
		out[k] = v
	}
	return out
}
