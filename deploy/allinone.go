// Package deploy reads what the all-in-one distribution promises — the
// stages of Dockerfile.allinone and the services of docker-compose.yaml —
// with the official parsers (buildkit's Dockerfile parser, compose-go), so
// that tests and scripts/smoke-allinone.sh check these files themselves
// rather than copies of them. It is not linked into the gatehouse binary.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Files of the distribution, relative to the repository root.
const (
	DockerfilePath = "Dockerfile.allinone"
	ComposePath    = "docker-compose.yaml"
	EnvExamplePath = "deploy/.env.example"
)

// Services of the compose file.
const (
	GatehouseService = "gatehouse"
	RedisService     = "redis"
)

// Dockerfile is a parsed Dockerfile: its stages in order and the default
// values of the ARGs declared before the first FROM.
type Dockerfile struct {
	Stages   []instructions.Stage
	MetaArgs map[string]string
}

// ParseDockerfile parses the Dockerfile at path.
func ParseDockerfile(path string) (*Dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open dockerfile: %w", err)
	}
	defer func() { _ = f.Close() }()
	ast, err := parser.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	d := &Dockerfile{Stages: stages, MetaArgs: map[string]string{}}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				d.MetaArgs[kv.Key] = *kv.Value
			}
		}
	}
	return d, nil
}

// Stage returns the stage named name, or nil.
func (d *Dockerfile) Stage(name string) *instructions.Stage {
	for i := range d.Stages {
		if d.Stages[i].Name == name {
			return &d.Stages[i]
		}
	}
	return nil
}

// Final returns the last stage: the image that is built by default.
func (d *Dockerfile) Final() *instructions.Stage {
	if len(d.Stages) == 0 {
		return nil
	}
	return &d.Stages[len(d.Stages)-1]
}

// BaseImage returns the FROM image of st with the meta ARGs' defaults
// substituted, as a build without --build-arg would use.
func (d *Dockerfile) BaseImage(st *instructions.Stage) string {
	return os.Expand(st.BaseName, func(k string) string { return d.MetaArgs[k] })
}

// Commands returns the commands of st that have type T, in order.
func Commands[T instructions.Command](st *instructions.Stage) []T {
	var out []T
	for _, c := range st.Commands {
		if t, ok := c.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// LoadCompose loads the compose file of the repository at root as
// `docker compose` would, with the variables of envFiles (for example
// deploy/.env.example, as a user who copied it to .env) and environ
// (KEY=VALUE, which win over the files) for interpolation. Required
// variables that are missing are an error that names them.
func LoadCompose(ctx context.Context, root string, environ []string, envFiles ...string) (*types.Project, error) {
	var files []string
	for _, f := range envFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(root, f)
		}
		files = append(files, f)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, ComposePath)},
		cli.WithWorkingDirectory(root),
		cli.WithEnvFiles(files...),
		cli.WithDotEnv,
		cli.WithEnv(environ),
		cli.WithName("gatehouse"),
	)
	if err != nil {
		return nil, fmt.Errorf("compose options: %w", err)
	}
	p, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ComposePath, err)
	}
	return p, nil
}

// Container is how the gatehouse container of the compose file runs: the
// image's layout and settings, then the compose service's additions.
type Container struct {
	// Env is the environment, KEY=VALUE, sorted: the image's ENV with the
	// service's environment on top (empty values included, as Docker
	// passes them).
	Env []string
	// Copies are the files the image takes from the build stage: Src
	// relative to the build stage's working directory (the repository
	// root), Dst absolute in the image.
	Copies []Copy
	// Volumes are the image's VOLUME paths.
	Volumes []string
	// Binds are the compose service's bind mounts: Src absolute on the
	// host, Dst absolute in the container.
	Binds []Copy
	// Ports are the container ports the service publishes.
	Ports []uint32
	// Entrypoint is the image's ENTRYPOINT in exec form.
	Entrypoint []string
}

// Copy is a source and a destination path.
type Copy struct{ Src, Dst string }

// LoadContainer reads the gatehouse container from the Dockerfile and the
// compose file of the repository at root; envFiles and environ are passed
// to LoadCompose.
func LoadContainer(ctx context.Context, root string, environ []string, envFiles ...string) (*Container, error) {
	df, err := ParseDockerfile(filepath.Join(root, DockerfilePath))
	if err != nil {
		return nil, err
	}
	final := df.Final()
	if final == nil {
		return nil, errors.New(DockerfilePath + " has no stage")
	}
	c := &Container{}
	env := map[string]string{}
	for _, e := range Commands[*instructions.EnvCommand](final) {
		for _, kv := range e.Env {
			env[kv.Key] = kv.Value
		}
	}
	for _, cp := range Commands[*instructions.CopyCommand](final) {
		from := df.Stage(cp.From)
		if from == nil {
			continue
		}
		wd := "/"
		for _, w := range Commands[*instructions.WorkdirCommand](from) {
			wd = w.Path
		}
		for _, src := range cp.SourcePaths {
			rel, err := filepath.Rel(wd, src)
			if err != nil || strings.HasPrefix(rel, "..") {
				return nil, fmt.Errorf("%s: COPY --from=%s %s is outside the stage's WORKDIR %s", DockerfilePath, cp.From, src, wd)
			}
			c.Copies = append(c.Copies, Copy{Src: rel, Dst: cp.DestPath})
		}
	}
	for _, v := range Commands[*instructions.VolumeCommand](final) {
		c.Volumes = append(c.Volumes, v.Volumes...)
	}
	for _, e := range Commands[*instructions.EntrypointCommand](final) {
		if e.PrependShell {
			return nil, fmt.Errorf("%s: ENTRYPOINT must be in exec form [\"…\"] so that SIGTERM reaches gatehouse", DockerfilePath)
		}
		c.Entrypoint = e.CmdLine
	}

	p, err := LoadCompose(ctx, root, environ, envFiles...)
	if err != nil {
		return nil, err
	}
	svc, ok := p.Services[GatehouseService]
	if !ok {
		return nil, fmt.Errorf("%s has no %q service", ComposePath, GatehouseService)
	}
	for k, v := range svc.Environment {
		if v == nil {
			env[k] = ""
		} else {
			env[k] = *v
		}
	}
	for _, v := range svc.Volumes {
		if v.Type == types.VolumeTypeBind {
			c.Binds = append(c.Binds, Copy{Src: v.Source, Dst: v.Target})
		}
	}
	for _, pt := range svc.Ports {
		c.Ports = append(c.Ports, pt.Target)
	}
	for k, v := range env {
		c.Env = append(c.Env, k+"="+v)
	}
	sort.Strings(c.Env)
	return c, nil
}
