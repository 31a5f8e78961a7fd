// Package helm_test proves the Gatehouse chart (deploy/helm/gatehouse) by
// rendering it with Helm's own library, no cluster needed: every manifest
// is decoded strictly into the Kubernetes API types, and what a cluster
// operator relies on is asserted. The mutation tests break a copy of the
// chart on purpose and show that each assertion then fails.
package helm_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

const (
	chartDir    = "gatehouse"
	releaseName = "gh"
	namespace   = "ai"
	// kubeVersion is the cluster the chart is rendered and linted for: the
	// oldest its Chart.yaml accepts would do, this one is current.
	kubeVersion = "v1.33.0"
)

// Distinctive secret values: if one of them shows up anywhere but in a
// Secret, a secret leaked.
const (
	jwtSecret     = "jwt-secret-value-0123456789abcdefghij"
	adminPassword = "admin-password-value"
	redisPassword = "redis-password-value"
	databaseDSN   = "postgres://gh:database-password-value@pg.example:5432/gh?sslmode=require"
)

// repoRoot is the repository root, two levels up from this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	r := filepath.Dir(filepath.Dir(wd))
	_, err = os.Stat(filepath.Join(r, "go.mod"))
	require.NoError(t, err, "go.mod not found at %s", r)
	return r
}

// ---------------------------------------------------------------- the binary's settings

// setting is one static setting of gatehouse serve, as its code declares it.
type setting struct {
	Env, Key string
	Secret   bool
}

// binarySettings are the settings `gatehouse serve` knows, read from the
// binary's own code (server/internal/config/config.go): the fields of
// Settings with their env, yaml and secret tags, and every other variable
// the loader reads as EnvPrefix+"NAME" (GATEHOUSE_CONFIG, the settings
// file). Reading the source rather than a copy means a renamed setting
// fails this test.
type binarySettings struct {
	byEnv map[string]setting
	byKey map[string]setting
}

func loadBinarySettings(t testing.TB) binarySettings {
	t.Helper()
	path := filepath.Join(repoRoot(t), "server", "internal", "config", "config.go")
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	require.NoError(t, err)

	prefix := ""
	var fields []*ast.Field
	var extra []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for i, name := range n.Names {
				if name.Name == "EnvPrefix" && i < len(n.Values) {
					if lit, ok := n.Values[i].(*ast.BasicLit); ok {
						prefix, _ = strconv.Unquote(lit.Value)
					}
				}
			}
		case *ast.TypeSpec:
			if st, ok := n.Type.(*ast.StructType); ok && n.Name.Name == "Settings" {
				fields = st.Fields.List
			}
		case *ast.BinaryExpr:
			if id, ok := n.X.(*ast.Ident); ok && id.Name == "EnvPrefix" && n.Op == token.ADD {
				if lit, ok := n.Y.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					extra = append(extra, s)
				}
			}
		}
		return true
	})
	require.NotEmpty(t, prefix, "%s: const EnvPrefix not found", path)
	require.NotEmpty(t, fields, "%s: type Settings struct not found", path)

	b := binarySettings{byEnv: map[string]setting{}, byKey: map[string]setting{}}
	for _, fd := range fields {
		require.NotNil(t, fd.Tag, "%s: a Settings field without tags", path)
		raw, err := strconv.Unquote(fd.Tag.Value)
		require.NoError(t, err)
		tag := reflect.StructTag(raw)
		s := setting{Env: prefix + tag.Get("env"), Key: tag.Get("yaml"), Secret: tag.Get("secret") != ""}
		require.NotEqual(t, prefix, s.Env, "%s: field %v has no env tag", path, fd.Names)
		b.byEnv[s.Env], b.byKey[s.Key] = s, s
	}
	// GATEHOUSE_CONFIG names the settings file and is read by Load itself.
	for _, e := range extra {
		if _, ok := b.byEnv[prefix+e]; !ok {
			b.byEnv[prefix+e] = setting{Env: prefix + e}
		}
	}
	require.Contains(t, b.byEnv, "GATEHOUSE_CONFIG", "the settings file variable read by config.Load")
	require.Contains(t, b.byEnv, "GATEHOUSE_INSTANCE_ID", "the instance id setting the chart sets from the pod name")
	return b
}

// ---------------------------------------------------------------- rendering

// object is one rendered manifest, decoded strictly into its API type.
type object struct {
	Source string // template file
	Kind   string
	Name   string
	Obj    any
}

// release is a rendered chart.
type release struct {
	values  common.Values
	objects []object
}

func (r *release) all(kind string) []object {
	var out []object
	for _, o := range r.objects {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (r *release) get(kind, name string) any {
	for _, o := range r.objects {
		if o.Kind == kind && o.Name == name {
			return o.Obj
		}
	}
	return nil
}

// val returns the value at a dotted path of the release's values, or nil.
func (r *release) val(path string) any {
	var cur any = map[string]any(r.values)
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			if v, ok2 := cur.(common.Values); ok2 {
				m = v
			} else {
				return nil
			}
		}
		cur = m[p]
	}
	return cur
}

func (r *release) str(path string) string {
	s, _ := r.val(path).(string)
	return s
}

func (r *release) flag(path string) bool {
	b, _ := r.val(path).(bool)
	return b
}

func (r *release) num(path string) int {
	switch v := r.val(path).(type) {
	case int:
		return v
	case int64:
		return int(v)
	case float64:
		return int(v)
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	}
	return 0
}

// newObject returns an empty value of the API type of apiVersion/kind.
func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/Secret":
		return &corev1.Secret{}, true
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, true
	case "networking.k8s.io/v1/Ingress":
		return &networkingv1.Ingress{}, true
	case "gateway.networking.k8s.io/v1/HTTPRoute":
		return &gatewayv1.HTTPRoute{}, true
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, true
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, true
	}
	return nil, false
}

// decodeStrict decodes one YAML manifest into its API type; an unknown or
// misspelled field, a duplicate key or an unknown kind is an error.
func decodeStrict(doc []byte) (object, error) {
	js, err := sigsyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return object{}, fmt.Errorf("not strict YAML: %w", err)
	}
	var u unstructured.Unstructured
	if err := u.UnmarshalJSON(js); err != nil {
		return object{}, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	obj, ok := newObject(u.GetAPIVersion(), u.GetKind())
	if !ok {
		return object{}, fmt.Errorf("%s %s: kind not known to this test; add its API type to newObject", u.GetAPIVersion(), u.GetKind())
	}
	// As the API server decodes: field names are case-sensitive (unlike
	// encoding/json), and unknown or duplicate fields are errors.
	strictErrs, err := sigsjson.UnmarshalStrict(js, obj)
	if err != nil {
		return object{}, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	if len(strictErrs) > 0 {
		return object{}, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), errors.Join(strictErrs...))
	}
	if u.GetName() == "" {
		return object{}, fmt.Errorf("%s without a name", u.GetKind())
	}
	return object{Kind: u.GetKind(), Name: u.GetName(), Obj: obj}, nil
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

func capabilities(t testing.TB) *common.Capabilities {
	t.Helper()
	kv, err := common.ParseKubeVersion(kubeVersion)
	require.NoError(t, err)
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	return caps
}

// render renders the chart at dir with vals as `helm install` would
// (values coalesced with values.yaml and validated by values.schema.json;
// templates with missing keys an error) and decodes every manifest.
func render(t testing.TB, dir string, vals map[string]any) (*release, error) {
	t.Helper()
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals,
		common.ReleaseOptions{Name: releaseName, Namespace: namespace, IsInstall: true}, capabilities(t), false)
	if err != nil {
		return nil, err
	}
	out, err := engine.Engine{Strict: true}.Render(ch, top)
	if err != nil {
		return nil, err
	}
	r := &release{}
	if v, ok := top["Values"].(common.Values); ok {
		r.values = v
	} else if m, ok := top["Values"].(map[string]any); ok {
		r.values = m
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.HasSuffix(n, "NOTES.txt") {
			continue
		}
		for _, doc := range docSeparator.Split(out[n], -1) {
			if !hasContent(doc) {
				continue
			}
			o, err := decodeStrict([]byte(doc))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			o.Source = n
			r.objects = append(r.objects, o)
		}
	}
	return r, nil
}

// hasContent tells whether a YAML document holds more than comments.
func hasContent(doc string) bool {
	for _, l := range strings.Split(doc, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}

// lintStrict runs Helm's chart linter (chart file, values against the
// schema, templates, dependencies) with `helm lint --strict` semantics:
// warnings count as errors. It returns the problems.
func lintStrict(t testing.TB, dir string, vals map[string]any) []string {
	t.Helper()
	kv, err := common.ParseKubeVersion(kubeVersion)
	require.NoError(t, err)
	l := lint.RunAll(dir, vals, namespace, lint.WithKubeVersion(kv))
	var problems []string
	for _, m := range l.Messages {
		// action.Lint with Strict fails from WarningSev up, as here.
		if m.Severity >= support.WarningSev {
			problems = append(problems, m.Error())
		}
	}
	return problems
}

// ---------------------------------------------------------------- value sets

// valueSet is a way to install the chart.
type valueSet struct {
	name   string
	values map[string]any
}

func valueSets() []valueSet {
	ext := func() map[string]any {
		return map[string]any{
			"replicaCount": 3,
			"database":     map[string]any{"existingSecret": "gh-db", "existingSecretKey": "url"},
			"redis":        map[string]any{"addr": "redis.cache.svc:6379", "existingSecret": "gh-redis", "existingSecretKey": "pw"},
			"jwt":          map[string]any{"existingSecret": "gh-jwt"},
			"admin":        map[string]any{"existingSecret": "gh-admin"},
		}
	}
	hpa := ext()
	hpa["autoscaling"] = map[string]any{"enabled": true, "minReplicas": 3, "maxReplicas": 12}
	hpa["podDisruptionBudget"] = map[string]any{"enabled": true, "maxUnavailable": 1}
	hpa["metrics"] = map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prom"},
		"tokenSecret": map[string]any{"name": "gh-metrics-token", "key": "token"}}}
	hpa["settings"] = map[string]any{"shutdownTimeout": "2m"}
	return []valueSet{
		{"defaults", nil},
		{"three replicas on external PostgreSQL and Redis with existing secrets", ext()},
		{"plain-text secrets kept in the chart's Secret", map[string]any{
			"replicaCount": 2,
			"database":     map[string]any{"dsn": databaseDSN},
			"redis":        map[string]any{"addr": "redis:6379", "password": redisPassword},
			"jwt":          map[string]any{"secret": jwtSecret},
			"admin":        map[string]any{"username": "root", "password": adminPassword},
			"settings":     map[string]any{"logLevel": "debug", "shutdownTimeout": "1m30s", "configFileMode": "seed"},
		}},
		{"HPA, PDB and ServiceMonitor", hpa},
		{"Ingress", map[string]any{"ingress": map[string]any{
			"gateway": map[string]any{"enabled": true, "className": "nginx",
				"hosts": []any{map[string]any{"host": "ai.example.com", "paths": []any{map[string]any{"path": "/", "pathType": "Prefix"}}}},
				"tls":   []any{map[string]any{"secretName": "ai-tls", "hosts": []any{"ai.example.com"}}}},
			"console": map[string]any{"enabled": true, "className": "nginx-internal",
				"hosts": []any{map[string]any{"host": "console.internal", "paths": []any{map[string]any{"path": "/", "pathType": "Prefix"}}}}},
		}}},
		{"Gateway API", map[string]any{"httpRoute": map[string]any{
			"gateway": map[string]any{"enabled": true, "parentRefs": []any{map[string]any{"name": "public", "namespace": "infra"}}, "hostnames": []any{"ai.example.com"}},
			"console": map[string]any{"enabled": true, "parentRefs": []any{map[string]any{"name": "internal", "namespace": "infra"}}},
		}}},
		{"evaluation Redis and PostgreSQL", map[string]any{
			"replicaCount": 2,
			"redis":        map[string]any{"enabled": true},
			"postgresql":   map[string]any{"enabled": true},
			"jwt":          map[string]any{"secret": jwtSecret},
		}},
		{"SQLite on a volume", map[string]any{"persistence": map[string]any{"enabled": true},
			"declarativeConfig": map[string]any{"existingConfigMap": "my-gatehouse-yaml"}}},
	}
}

// ---------------------------------------------------------------- checks

// check is one assertion over a rendered release; it returns the problems
// it found (none: passed).
type check struct {
	name string
	fn   func(r *release, b binarySettings) []string
}

func checks() []check {
	return []check{
		{"workload", checkWorkload},
		{"probes and ports", checkProbesAndPorts},
		{"grace period", checkGracePeriod},
		{"rolling update", checkRollingUpdate},
		{"non-root, read-only root", checkSecurity},
		{"settings known", checkSettingsKnown},
		{"instance id", checkInstanceID},
		{"secrets only from Secrets", checkSecrets},
		{"declarative file", checkDeclarativeFile},
		{"services select the pods", checkServices},
		{"scaling", checkScaling},
		{"exposure", checkExposure},
		{"evaluation servers", checkEvaluation},
		{"spread across nodes", checkSpread},
	}
}

func (r *release) deployment() *appsv1.Deployment {
	d, _ := r.get("Deployment", r.fullname()).(*appsv1.Deployment)
	return d
}

func (r *release) fullname() string { return releaseName + "-gatehouse" }

func (r *release) container() (*corev1.PodSpec, *corev1.Container) {
	d := r.deployment()
	if d == nil {
		return nil, nil
	}
	for i := range d.Spec.Template.Spec.Containers {
		if d.Spec.Template.Spec.Containers[i].Name == "gatehouse" {
			return &d.Spec.Template.Spec, &d.Spec.Template.Spec.Containers[i]
		}
	}
	return &d.Spec.Template.Spec, nil
}

func env(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// settingsFile is the settings file the pods read (GATEHOUSE_CONFIG).
func (r *release) settingsFile() (map[string]any, error) {
	cm, _ := r.get("ConfigMap", r.fullname()+"-settings").(*corev1.ConfigMap)
	if cm == nil {
		return nil, errors.New("no settings ConfigMap " + r.fullname() + "-settings")
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["settings.yaml"]), &m); err != nil {
		return nil, fmt.Errorf("settings.yaml: %w", err)
	}
	return m, nil
}

func checkWorkload(r *release, _ binarySettings) []string {
	var p []string
	d := r.deployment()
	if d == nil {
		return []string{"no Deployment " + r.fullname()}
	}
	_, c := r.container()
	if c == nil {
		return []string{"the Deployment has no gatehouse container"}
	}
	wantImage := r.str("image.repository") + ":"
	if !strings.HasPrefix(c.Image, wantImage) || strings.HasSuffix(c.Image, ":") {
		p = append(p, fmt.Sprintf("image %q is not %s<tag>", c.Image, wantImage))
	}
	if len(c.Command) > 0 || len(c.Args) > 0 {
		p = append(p, "the container overrides the image's entrypoint (gatehouse serve)")
	}
	if !r.flag("autoscaling.enabled") && (d.Spec.Replicas == nil || int(*d.Spec.Replicas) != r.num("replicaCount")) {
		p = append(p, fmt.Sprintf("replicas %v, want replicaCount %d", d.Spec.Replicas, r.num("replicaCount")))
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		p = append(p, "no CPU and memory requests (the HPA and the scheduler need them)")
	}
	return p
}

func checkProbesAndPorts(r *release, _ binarySettings) []string {
	var p []string
	_, c := r.container()
	if c == nil {
		return []string{"no gatehouse container"}
	}
	ports := map[string]int32{}
	for _, cp := range c.Ports {
		ports[cp.Name] = cp.ContainerPort
	}
	if ports["http"] != 8080 || ports["console"] != 8001 {
		p = append(p, fmt.Sprintf("container ports %v, want http 8080 (gateway) and console 8001", ports))
	}
	for _, a := range []struct{ env, want string }{{"GATEHOUSE_GATEWAY_ADDR", ":8080"}, {"GATEHOUSE_CONSOLE_ADDR", ":8001"}} {
		if e := env(c, a.env); e == nil || e.Value != a.want {
			p = append(p, fmt.Sprintf("%s must be %s, the port the probes and Services use", a.env, a.want))
		}
	}
	probe := func(name string, pr *corev1.Probe, path string) {
		if pr == nil || pr.HTTPGet == nil {
			p = append(p, name+": no HTTP probe")
			return
		}
		port := pr.HTTPGet.Port.IntVal
		if pr.HTTPGet.Port.StrVal != "" {
			port = ports[pr.HTTPGet.Port.StrVal]
		}
		if pr.HTTPGet.Path != path || port != 8001 {
			p = append(p, fmt.Sprintf("%s: GET %s on port %d, want %s on the console port 8001", name, pr.HTTPGet.Path, port, path))
		}
	}
	probe("startupProbe", c.StartupProbe, "/readyz")
	probe("readinessProbe", c.ReadinessProbe, "/readyz")
	probe("livenessProbe", c.LivenessProbe, "/healthz")
	if c.StartupProbe != nil && c.StartupProbe.PeriodSeconds*c.StartupProbe.FailureThreshold < 60 {
		p = append(p, "startupProbe gives less than 60 s for migrations and plugin verification")
	}
	return p
}

func checkGracePeriod(r *release, _ binarySettings) []string {
	pod, c := r.container()
	if c == nil {
		return []string{"no gatehouse container"}
	}
	sf, err := r.settingsFile()
	if err != nil {
		return []string{err.Error()}
	}
	raw, _ := sf["shutdownTimeout"].(string)
	timeout, err := time.ParseDuration(raw)
	if err != nil {
		return []string{fmt.Sprintf("settings.yaml shutdownTimeout %q: %v", raw, err)}
	}
	var preStop time.Duration
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil {
		return []string{"no preStop pause: endpoints may still send requests after SIGTERM"}
	}
	cmd := c.Lifecycle.PreStop.Exec.Command
	if len(cmd) != 2 || cmd[0] != "sleep" {
		return []string{fmt.Sprintf("preStop %v is not [sleep N]", cmd)}
	}
	n, err := strconv.Atoi(cmd[1])
	if err != nil || n < 1 {
		return []string{fmt.Sprintf("preStop sleeps %q: want a pause of at least 1 s", cmd[1])}
	}
	preStop = time.Duration(n) * time.Second
	if pod.TerminationGracePeriodSeconds == nil {
		return []string{"no terminationGracePeriodSeconds"}
	}
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	// The kubelet's grace period counts from the start of preStop; the
	// drain starts after it and may take the whole shutdown timeout.
	if grace < preStop+timeout+5*time.Second {
		return []string{fmt.Sprintf("terminationGracePeriodSeconds %s does not exceed preStop %s + shutdownTimeout %s + 5s: in-flight requests would be killed", grace, preStop, timeout)}
	}
	return nil
}

func checkRollingUpdate(r *release, _ binarySettings) []string {
	d := r.deployment()
	if d == nil {
		return []string{"no Deployment"}
	}
	if r.flag("persistence.enabled") {
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			return []string{"SQLite on a volume needs Recreate: two pods must not share one SQLite volume"}
		}
		return nil
	}
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil || ru.MaxUnavailable == nil ||
		ru.MaxUnavailable.String() != "0" || ru.MaxSurge == nil || ru.MaxSurge.String() == "0" {
		return []string{fmt.Sprintf("strategy %+v: want RollingUpdate with maxUnavailable 0 and a surge", d.Spec.Strategy)}
	}
	return nil
}

// writableDirs are where gatehouse writes: the data dir, the log dir and
// temporary files. Everything else is read-only.
var writableDirs = []string{"/data", "/var/log/gatehouse", "/tmp"}

func checkSecurity(r *release, _ binarySettings) []string {
	var p []string
	pod, c := r.container()
	if c == nil {
		return []string{"no gatehouse container"}
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 10001 {
		p = append(p, "the pod must run as non-root uid 10001 (the image's gatehouse user)")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		p = append(p, "the root filesystem must be read-only")
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		p = append(p, "privilege escalation must be off")
	}
	if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		p = append(p, "all capabilities must be dropped")
	}
	if sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		p = append(p, "the container runs as root")
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		v := vols[m.Name]
		if m.ReadOnly {
			continue
		}
		if !slices.Contains(writableDirs, m.MountPath) {
			p = append(p, fmt.Sprintf("volume %s is writable at %s; only %v may be", m.Name, m.MountPath, writableDirs))
		}
		if v.ConfigMap != nil || v.Secret != nil {
			p = append(p, fmt.Sprintf("volume %s (configuration) is mounted writable", m.Name))
		}
	}
	for _, dir := range writableDirs {
		if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == dir && !m.ReadOnly }) {
			p = append(p, fmt.Sprintf("%s is not a writable volume; gatehouse writes there and the root filesystem is read-only", dir))
		}
	}
	if p == nil && r.flag("persistence.enabled") != (vols["data"].PersistentVolumeClaim != nil) {
		p = append(p, "the data volume must be the PersistentVolumeClaim exactly when persistence.enabled")
	}
	return p
}

// managedSettings are the settings the chart sets itself from other values
// (so values.schema.json's settings leaves them out), with the reason.
var managedSettings = map[string]string{
	"gatewayAddr":   "the container port of the probes and Services",
	"consoleAddr":   "the container port of the probes and Services",
	"dataDir":       "the data volume",
	"pluginDir":     "the image's bundled plugins",
	"logFile":       "the log volume",
	"adminUser":     "admin.username or admin.existingSecret",
	"adminPassword": "admin.password or admin.existingSecret",
	"jwtSecret":     "jwt.secret or jwt.existingSecret",
	"database":      "database.dsn, database.existingSecret or postgresql.enabled",
	"redisAddr":     "redis.addr or redis.enabled",
	"redisPassword": "redis.password or redis.existingSecret",
	"configFile":    "declarativeConfig",
	"instanceID":    "the pod name",
}

func checkSettingsKnown(r *release, b binarySettings) []string {
	var p []string
	_, c := r.container()
	if c == nil {
		return []string{"no gatehouse container"}
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "GATEHOUSE_") {
			if _, ok := b.byEnv[e.Name]; !ok {
				p = append(p, fmt.Sprintf("the chart sets %s, which gatehouse serve does not know (a typo, or a renamed setting)", e.Name))
			}
		}
	}
	for _, e := range c.EnvFrom {
		p = append(p, fmt.Sprintf("envFrom %+v: variables that cannot be checked against the settings", e))
	}
	sf, err := r.settingsFile()
	if err != nil {
		return append(p, err.Error())
	}
	for k := range sf {
		s, ok := b.byKey[k]
		switch {
		case !ok:
			p = append(p, fmt.Sprintf("settings.yaml key %q is not a setting of gatehouse serve; gatehouse would refuse to start", k))
		case s.Secret:
			p = append(p, fmt.Sprintf("settings.yaml holds the secret %q: secrets come from Secrets", k))
		case managedSettings[k] != "":
			p = append(p, fmt.Sprintf("settings.yaml sets %q, which the chart sets from %s", k, managedSettings[k]))
		}
	}
	cfg := env(c, "GATEHOUSE_CONFIG")
	if cfg == nil || !mountedFile(r, c, cfg.Value, r.fullname()+"-settings", "settings.yaml") {
		p = append(p, "GATEHOUSE_CONFIG must name settings.yaml of the settings ConfigMap as mounted")
	}
	return p
}

// mountedFile tells whether path in container c is key of ConfigMap cm,
// mounted as a directory (a subPath mount never sees updates).
func mountedFile(r *release, c *corev1.Container, path, cm, key string) bool {
	pod, _ := r.container()
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" || filepath.Join(m.MountPath, key) != path {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && v.ConfigMap.Name == cm && len(v.ConfigMap.Items) == 0 {
				return true
			}
		}
	}
	return false
}

func checkInstanceID(r *release, _ binarySettings) []string {
	_, c := r.container()
	if c == nil {
		return []string{"no gatehouse container"}
	}
	e := env(c, "GATEHOUSE_INSTANCE_ID")
	if e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		return []string{"GATEHOUSE_INSTANCE_ID must come from the pod name (fieldRef metadata.name)"}
	}
	return nil
}

func checkSecrets(r *release, b binarySettings) []string {
	var p []string
	_, c := r.container()
	if c == nil {
		return []string{"no gatehouse container"}
	}
	secrets := map[string]*corev1.Secret{}
	for _, o := range r.all("Secret") {
		secrets[o.Name] = o.Obj.(*corev1.Secret)
	}
	existing := map[string]bool{}
	for _, k := range []string{"admin.existingSecret", "jwt.existingSecret", "database.existingSecret", "redis.existingSecret"} {
		if s := r.str(k); s != "" {
			existing[s] = true
		}
	}
	for _, e := range c.Env {
		s, ok := b.byEnv[e.Name]
		if !ok || !s.Secret {
			continue
		}
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			p = append(p, fmt.Sprintf("%s is a secret but is not read from a Secret", e.Name))
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if sec, ok := secrets[ref.Name]; ok {
			if _, ok := sec.Data[ref.Key]; !ok {
				p = append(p, fmt.Sprintf("%s reads key %q of Secret %s, which the chart does not put there", e.Name, ref.Key, ref.Name))
			}
		} else if !existing[ref.Name] {
			p = append(p, fmt.Sprintf("%s reads Secret %s, which is neither made by the chart nor an existingSecret value", e.Name, ref.Name))
		}
	}
	// What the user gave in plain text must arrive, and only through a Secret.
	given := map[string]string{"GATEHOUSE_JWT_SECRET": r.str("jwt.secret"), "GATEHOUSE_ADMIN_PASSWORD": r.str("admin.password"),
		"GATEHOUSE_DATABASE": r.str("database.dsn"), "GATEHOUSE_REDIS_PASSWORD": r.str("redis.password")}
	for name, v := range given {
		if v == "" {
			continue
		}
		e := env(c, name)
		if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			p = append(p, fmt.Sprintf("%s was given but the pods do not get it from a Secret", name))
			continue
		}
		if sec := secrets[e.ValueFrom.SecretKeyRef.Name]; sec == nil || string(sec.Data[e.ValueFrom.SecretKeyRef.Key]) != v {
			p = append(p, fmt.Sprintf("%s: the Secret does not hold the value given", name))
		}
	}
	// No secret value anywhere outside a Secret.
	for _, o := range r.objects {
		if o.Kind == "Secret" {
			continue
		}
		js, _ := json.Marshal(o.Obj)
		for _, v := range []string{jwtSecret, adminPassword, redisPassword, databaseDSN, "database-password-value"} {
			if bytes.Contains(js, []byte(v)) {
				p = append(p, fmt.Sprintf("%s %s (%s) contains a secret value", o.Kind, o.Name, o.Source))
			}
		}
	}
	for _, o := range r.all("Secret") {
		for k, v := range o.Obj.(*corev1.Secret).Data {
			if len(v) == 0 {
				p = append(p, fmt.Sprintf("Secret %s key %s is empty", o.Name, k))
			}
		}
	}
	return p
}

func checkDeclarativeFile(r *release, _ binarySettings) []string {
	_, c := r.container()
	if c == nil {
		return []string{"no gatehouse container"}
	}
	e := env(c, "GATEHOUSE_CONFIG_FILE")
	if !r.flag("declarativeConfig.enabled") {
		if e != nil {
			return []string{"GATEHOUSE_CONFIG_FILE set though declarativeConfig.enabled=false"}
		}
		return nil
	}
	if e == nil {
		return []string{"no GATEHOUSE_CONFIG_FILE though declarativeConfig.enabled"}
	}
	cm := r.str("declarativeConfig.existingConfigMap")
	if cm == "" {
		cm = r.fullname() + "-config"
		obj, _ := r.get("ConfigMap", cm).(*corev1.ConfigMap)
		if obj == nil {
			return []string{"no ConfigMap " + cm}
		}
		var snap map[string]any
		if err := yaml.Unmarshal([]byte(obj.Data["gatehouse.yaml"]), &snap); err != nil {
			return []string{"gatehouse.yaml: " + err.Error()}
		}
		for _, k := range []string{"services", "routes", "pluginInstances", "mcpServers"} {
			if _, ok := snap[k]; !ok {
				return []string{"gatehouse.yaml has no " + k}
			}
		}
	}
	if !mountedFile(r, c, e.Value, cm, "gatehouse.yaml") {
		return []string{fmt.Sprintf("GATEHOUSE_CONFIG_FILE %s is not gatehouse.yaml of ConfigMap %s mounted as a directory (a subPath mount is never updated)", e.Value, cm)}
	}
	sf, err := r.settingsFile()
	if err != nil {
		return []string{err.Error()}
	}
	if mode, _ := sf["configFileMode"].(string); mode != r.str("settings.configFileMode") {
		return []string{fmt.Sprintf("configFileMode %q in settings.yaml, want %q", mode, r.str("settings.configFileMode"))}
	}
	return nil
}

func selects(sel map[string]string, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func checkServices(r *release, _ binarySettings) []string {
	var p []string
	d := r.deployment()
	if d == nil {
		return []string{"no Deployment"}
	}
	labels := d.Spec.Template.Labels
	want := map[string]struct {
		target string
		port   int
	}{
		r.fullname():              {"http", r.num("service.gateway.port")},
		r.fullname() + "-console": {"console", r.num("service.console.port")},
	}
	for name, w := range want {
		s, _ := r.get("Service", name).(*corev1.Service)
		if s == nil {
			p = append(p, "no Service "+name)
			continue
		}
		if !selects(s.Spec.Selector, labels) {
			p = append(p, fmt.Sprintf("Service %s does not select the gatehouse pods", name))
		}
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].TargetPort.StrVal != w.target || int(s.Spec.Ports[0].Port) != w.port {
			p = append(p, fmt.Sprintf("Service %s ports %+v, want %d → %s", name, s.Spec.Ports, w.port, w.target))
		}
	}
	if s, _ := r.get("Service", r.fullname()+"-console").(*corev1.Service); s != nil && r.str("service.console.type") == "ClusterIP" && s.Spec.Type != corev1.ServiceTypeClusterIP {
		p = append(p, "the console Service must stay inside the cluster (ClusterIP) by default")
	}
	if !selects(d.Spec.Selector.MatchLabels, labels) {
		p = append(p, "the Deployment's selector does not match its pods")
	}
	// No other workload's pods carry the gatehouse selector labels.
	for _, o := range r.all("StatefulSet") {
		if selects(d.Spec.Selector.MatchLabels, o.Obj.(*appsv1.StatefulSet).Spec.Template.Labels) {
			p = append(p, fmt.Sprintf("StatefulSet %s's pods match the gatehouse selector", o.Name))
		}
	}
	return p
}

func checkScaling(r *release, _ binarySettings) []string {
	var p []string
	d := r.deployment()
	if d == nil {
		return []string{"no Deployment"}
	}
	hpa, _ := r.get("HorizontalPodAutoscaler", r.fullname()).(*autoscalingv2.HorizontalPodAutoscaler)
	if r.flag("autoscaling.enabled") {
		switch {
		case hpa == nil:
			p = append(p, "autoscaling.enabled but no HorizontalPodAutoscaler")
		case hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != d.Name:
			p = append(p, fmt.Sprintf("the HPA scales %+v, not the Deployment", hpa.Spec.ScaleTargetRef))
		case len(hpa.Spec.Metrics) == 0 || hpa.Spec.Metrics[0].Resource == nil || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU:
			p = append(p, "the HPA does not scale on CPU")
		case hpa.Spec.MinReplicas == nil || int(*hpa.Spec.MinReplicas) != r.num("autoscaling.minReplicas") || int(hpa.Spec.MaxReplicas) != r.num("autoscaling.maxReplicas"):
			p = append(p, "the HPA's replica range is not the values'")
		}
		if d.Spec.Replicas != nil {
			p = append(p, "the Deployment sets replicas though an HPA scales it (every upgrade would reset the count)")
		}
	} else if hpa != nil {
		p = append(p, "an HPA though autoscaling.enabled=false")
	}
	pdb, _ := r.get("PodDisruptionBudget", r.fullname()).(*policyv1.PodDisruptionBudget)
	if r.flag("podDisruptionBudget.enabled") {
		if pdb == nil || pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
			p = append(p, "no PodDisruptionBudget selecting the gatehouse pods")
		} else if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() < 1 {
			p = append(p, "the PodDisruptionBudget must let a drain take a pod (maxUnavailable ≥ 1), or node upgrades block")
		}
	}
	sm, _ := r.get("ServiceMonitor", r.fullname()).(*monitoringv1.ServiceMonitor)
	if r.flag("metrics.serviceMonitor.enabled") {
		console, _ := r.get("Service", r.fullname()+"-console").(*corev1.Service)
		gateway, _ := r.get("Service", r.fullname()).(*corev1.Service)
		switch {
		case sm == nil:
			p = append(p, "metrics.serviceMonitor.enabled but no ServiceMonitor")
		case console == nil || !selects(sm.Spec.Selector.MatchLabels, console.Labels) || (gateway != nil && selects(sm.Spec.Selector.MatchLabels, gateway.Labels)):
			p = append(p, "the ServiceMonitor must select the console Service only")
		case len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "console" || sm.Spec.Endpoints[0].Path != "/metrics":
			p = append(p, "the ServiceMonitor must scrape /metrics on the console port")
		default:
			a := sm.Spec.Endpoints[0].Authorization
			if a == nil || a.Credentials == nil || a.Credentials.Name != r.str("metrics.serviceMonitor.tokenSecret.name") ||
				a.Credentials.Key != r.str("metrics.serviceMonitor.tokenSecret.key") || (a.Type != "" && a.Type != "Bearer") {
				p = append(p, "the ServiceMonitor must send the API token of metrics.serviceMonitor.tokenSecret as a Bearer token")
			}
			for k, v := range r.val("metrics.serviceMonitor.labels").(map[string]any) {
				if sm.Labels[k] != v {
					p = append(p, fmt.Sprintf("the ServiceMonitor lacks the label %s=%v its Prometheus selects", k, v))
				}
			}
		}
	} else if sm != nil {
		p = append(p, "a ServiceMonitor though metrics.serviceMonitor.enabled=false")
	}
	return p
}

func checkExposure(r *release, _ binarySettings) []string {
	var p []string
	for _, comp := range []string{"gateway", "console"} {
		svc := r.fullname()
		port := r.num("service.gateway.port")
		if comp == "console" {
			svc += "-console"
			port = r.num("service.console.port")
		}
		name := r.fullname() + "-" + comp
		ing, _ := r.get("Ingress", name).(*networkingv1.Ingress)
		if r.flag("ingress." + comp + ".enabled") {
			if ing == nil {
				p = append(p, "ingress."+comp+".enabled but no Ingress "+name)
			} else {
				if cls := r.str("ingress." + comp + ".className"); cls != "" && (ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != cls) {
					p = append(p, fmt.Sprintf("Ingress %s class is not %s", name, cls))
				}
				for _, rule := range ing.Spec.Rules {
					for _, path := range rule.HTTP.Paths {
						if b := path.Backend.Service; b == nil || b.Name != svc || int(b.Port.Number) != port {
							p = append(p, fmt.Sprintf("Ingress %s sends %s%s to %+v, not Service %s port %d", name, rule.Host, path.Path, path.Backend, svc, port))
						}
					}
				}
				if len(ing.Spec.Rules) == 0 {
					p = append(p, "Ingress "+name+" has no rules")
				}
			}
		} else if ing != nil {
			p = append(p, "Ingress "+name+" though ingress."+comp+".enabled=false (the console is not exposed by default)")
		}
		route, _ := r.get("HTTPRoute", name).(*gatewayv1.HTTPRoute)
		if r.flag("httpRoute." + comp + ".enabled") {
			if route == nil {
				p = append(p, "httpRoute."+comp+".enabled but no HTTPRoute "+name)
			} else {
				if len(route.Spec.ParentRefs) == 0 {
					p = append(p, "HTTPRoute "+name+" attaches to no Gateway")
				}
				for _, rule := range route.Spec.Rules {
					for _, b := range rule.BackendRefs {
						if string(b.Name) != svc || b.Port == nil || int(*b.Port) != port {
							p = append(p, fmt.Sprintf("HTTPRoute %s sends to %s, not Service %s port %d", name, b.Name, svc, port))
						}
					}
				}
			}
		} else if route != nil {
			p = append(p, "HTTPRoute "+name+" though httpRoute."+comp+".enabled=false")
		}
	}
	return p
}

func checkEvaluation(r *release, _ binarySettings) []string {
	var p []string
	_, c := r.container()
	if c == nil {
		return []string{"no gatehouse container"}
	}
	for _, ev := range []struct{ comp, port, env, key string }{
		{"redis", "6379", "GATEHOUSE_REDIS_PASSWORD", "password"},
		{"postgresql", "5432", "GATEHOUSE_DATABASE", "dsn"},
	} {
		name := r.fullname() + "-" + ev.comp
		sts, _ := r.get("StatefulSet", name).(*appsv1.StatefulSet)
		if !r.flag(ev.comp + ".enabled") {
			if sts != nil {
				p = append(p, fmt.Sprintf("StatefulSet %s though %s.enabled=false", name, ev.comp))
			}
			continue
		}
		if sts == nil {
			p = append(p, fmt.Sprintf("%s.enabled but no StatefulSet %s", ev.comp, name))
			continue
		}
		if len(sts.Spec.VolumeClaimTemplates) == 0 {
			p = append(p, fmt.Sprintf("StatefulSet %s has no persistent volume", name))
		}
		if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 1 {
			p = append(p, fmt.Sprintf("StatefulSet %s must be a single server", name))
		}
		svc, _ := r.get("Service", name).(*corev1.Service)
		if svc == nil || !selects(svc.Spec.Selector, sts.Spec.Template.Labels) || len(svc.Spec.Ports) != 1 || strconv.Itoa(int(svc.Spec.Ports[0].Port)) != ev.port {
			p = append(p, fmt.Sprintf("no Service %s on port %s selecting its pods", name, ev.port))
		}
		if sc := sts.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			p = append(p, fmt.Sprintf("StatefulSet %s must run as non-root", name))
		}
		e := env(c, ev.env)
		if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != name || e.ValueFrom.SecretKeyRef.Key != ev.key {
			p = append(p, fmt.Sprintf("%s must come from Secret %s key %s", ev.env, name, ev.key))
		}
		sec, _ := r.get("Secret", name).(*corev1.Secret)
		if sec == nil || len(sec.Data["password"]) < 16 {
			p = append(p, fmt.Sprintf("Secret %s must hold a generated password", name))
			continue
		}
		if ev.comp == "redis" {
			if a := env(c, "GATEHOUSE_REDIS_ADDR"); a == nil || a.Value != name+":"+ev.port {
				p = append(p, "GATEHOUSE_REDIS_ADDR must be the evaluation Redis Service "+name+":"+ev.port)
			}
		} else if dsn := string(sec.Data["dsn"]); !strings.Contains(dsn, "@"+name+":"+ev.port+"/") || !strings.Contains(dsn, ":"+string(sec.Data["password"])+"@") {
			p = append(p, "the DSN must point at the evaluation PostgreSQL Service with its password")
		}
	}
	return p
}

func checkSpread(r *release, _ binarySettings) []string {
	d := r.deployment()
	if d == nil {
		return []string{"no Deployment"}
	}
	if !r.flag("spreadAcrossNodes") {
		return nil
	}
	pod := d.Spec.Template.Spec
	spread := slices.ContainsFunc(pod.TopologySpreadConstraints, func(c corev1.TopologySpreadConstraint) bool {
		return c.TopologyKey == "kubernetes.io/hostname" && c.LabelSelector != nil && selects(c.LabelSelector.MatchLabels, d.Spec.Template.Labels)
	})
	anti := pod.Affinity != nil && pod.Affinity.PodAntiAffinity != nil && slices.ContainsFunc(pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
		func(w corev1.WeightedPodAffinityTerm) bool {
			return w.PodAffinityTerm.TopologyKey == "kubernetes.io/hostname" && w.PodAffinityTerm.LabelSelector != nil &&
				selects(w.PodAffinityTerm.LabelSelector.MatchLabels, d.Spec.Template.Labels)
		})
	if !spread || !anti {
		return []string{"the pods must be spread across nodes (topology spread on kubernetes.io/hostname and pod anti-affinity)"}
	}
	return nil
}

// runChecks renders and runs every check, keyed by check name.
func runChecks(r *release, b binarySettings) map[string][]string {
	out := map[string][]string{}
	for _, c := range checks() {
		if p := c.fn(r, b); len(p) > 0 {
			out[c.name] = p
		}
	}
	return out
}

// ---------------------------------------------------------------- tests

func TestChartRendersValueSets(t *testing.T) {
	b := loadBinarySettings(t)
	for _, vs := range valueSets() {
		t.Run(vs.name, func(t *testing.T) {
			r, err := render(t, chartDir, vs.values)
			require.NoError(t, err)
			require.Empty(t, runChecks(r, b))
		})
	}
}

func TestChartLintStrict(t *testing.T) {
	for _, vs := range valueSets() {
		t.Run(vs.name, func(t *testing.T) {
			require.Empty(t, lintStrict(t, chartDir, vs.values), "helm lint --strict")
		})
	}
}

// guardRails are value sets the chart must refuse, with the message (naming
// the value to set) that helm install shows.
var guardRails = []struct {
	name   string
	values map[string]any
	want   string
}{
	{"several replicas on SQLite", map[string]any{"replicaCount": 3, "jwt": map[string]any{"secret": jwtSecret}, "redis": map[string]any{"addr": "r:6379"}},
		"replicaCount=3 needs a database shared by every replica, but the database is SQLite (each pod would have its own): set database.dsn"},
	{"HPA on SQLite", map[string]any{"autoscaling": map[string]any{"enabled": true}, "jwt": map[string]any{"secret": jwtSecret}, "redis": map[string]any{"addr": "r:6379"}},
		"autoscaling.enabled=true (up to 10 replicas) needs a database shared by every replica"},
	{"a SQLite path is not shared", map[string]any{"replicaCount": 2, "database": map[string]any{"dsn": "/data/x.db"}, "jwt": map[string]any{"secret": jwtSecret}, "redis": map[string]any{"addr": "r:6379"}},
		"set database.dsn to a PostgreSQL or MySQL DSN"},
	{"several replicas without a JWT secret", map[string]any{"replicaCount": 2, "database": map[string]any{"dsn": databaseDSN}, "redis": map[string]any{"addr": "r:6379"}},
		"replicaCount=2 needs one JWT secret shared by every replica, or a login on one pod is refused by the others: set jwt.secret (32+ characters) or jwt.existingSecret"},
	{"several replicas without Redis", map[string]any{"replicaCount": 2, "database": map[string]any{"dsn": databaseDSN}, "jwt": map[string]any{"secret": jwtSecret}},
		"replicaCount=2 needs Redis, so that MCP sessions and rate limits are shared by every replica: set redis.addr"},
	{"ServiceMonitor without a token", map[string]any{"metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": true}}},
		"metrics.serviceMonitor.enabled=true needs metrics.serviceMonitor.tokenSecret.name"},
	{"admin password without a user", map[string]any{"admin": map[string]any{"password": adminPassword}},
		"admin.password is set without admin.username"},
	{"a Redis password without Redis", map[string]any{"redis": map[string]any{"password": redisPassword}},
		"a Redis password is set without a Redis: set redis.addr"},
	{"SQLite volume with a shared database", map[string]any{"persistence": map[string]any{"enabled": true}, "database": map[string]any{"dsn": databaseDSN}},
		"persistence.enabled=true keeps SQLite on a volume of one pod"},
	{"an HTTPRoute attached to no Gateway", map[string]any{"httpRoute": map[string]any{"console": map[string]any{"enabled": true}}},
		"httpRoute.console.enabled=true needs httpRoute.console.parentRefs"},
	{"both Redis kinds", map[string]any{"redis": map[string]any{"enabled": true, "addr": "r:6379"}},
		"set either redis.addr (an external Redis) or redis.enabled=true"},
	{"both database kinds", map[string]any{"postgresql": map[string]any{"enabled": true}, "database": map[string]any{"dsn": databaseDSN}},
		"or postgresql.enabled=true (the evaluation PostgreSQL), not both"},
}

// schemaRefusals are wrong values that values.schema.json refuses, naming
// the field.
var schemaRefusals = []struct {
	name   string
	values map[string]any
	want   []string
}{
	{"replicas as text", map[string]any{"replicaCount": "three"}, []string{"/replicaCount"}},
	{"a misspelled setting", map[string]any{"settings": map[string]any{"logLevl": "debug"}}, []string{"/settings", "logLevl"}},
	{"an unknown log level", map[string]any{"settings": map[string]any{"logLevel": "loud"}}, []string{"/settings/logLevel"}},
	{"a managed setting", map[string]any{"settings": map[string]any{"database": "/tmp/x.db"}}, []string{"/settings", "database"}},
	{"a fractional shutdown timeout", map[string]any{"settings": map[string]any{"shutdownTimeout": "1.5s"}}, []string{"/settings/shutdownTimeout"}},
	{"a short JWT secret", map[string]any{"jwt": map[string]any{"secret": "short"}}, []string{"/jwt/secret"}},
	{"a short admin password", map[string]any{"admin": map[string]any{"username": "a", "password": "short"}}, []string{"/admin/password"}},
	{"an unknown top-level value", map[string]any{"replicas": 3}, []string{"replicas"}},
	{"a Redis address without a port", map[string]any{"redis": map[string]any{"addr": "redis"}}, []string{"/redis/addr"}},
	{"an unknown config file mode", map[string]any{"settings": map[string]any{"configFileMode": "merge"}}, []string{"/settings/configFileMode"}},
}

func guardFailures(t testing.TB, dir string) []string {
	t.Helper()
	var p []string
	for _, g := range guardRails {
		_, err := render(t, dir, g.values)
		switch {
		case err == nil:
			p = append(p, g.name+": rendered; want refused with "+strconv.Quote(g.want))
		case !strings.Contains(err.Error(), g.want):
			p = append(p, fmt.Sprintf("%s: refused with %q; want %q", g.name, err, g.want))
		}
	}
	return p
}

func schemaFailures(t testing.TB, dir string) []string {
	t.Helper()
	var p []string
	for _, s := range schemaRefusals {
		_, err := render(t, dir, s.values)
		if err == nil {
			p = append(p, s.name+": rendered; want the schema to refuse it")
			continue
		}
		for _, w := range s.want {
			if !strings.Contains(err.Error(), w) {
				p = append(p, fmt.Sprintf("%s: refused with %q, which does not name %s", s.name, err, w))
			}
		}
		// helm lint applies the same schema.
		if lp := lintStrict(t, dir, s.values); len(lp) == 0 {
			p = append(p, s.name+": helm lint --strict accepts it")
		}
	}
	return p
}

func TestChartGuardRails(t *testing.T) {
	require.Empty(t, guardFailures(t, chartDir))
}

func TestChartSchemaRefusesWrongValues(t *testing.T) {
	require.Empty(t, schemaFailures(t, chartDir))
}

// schemaSettingsFailures compares the settings the schema accepts with the
// binary's: each must be a setting, and each setting must be either
// accepted or set by the chart.
func schemaSettingsFailures(t testing.TB, dir string, b binarySettings) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "values.schema.json"))
	require.NoError(t, err)
	var schema struct {
		Properties map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(raw, &schema))
	props := schema.Properties["settings"].Properties
	var p []string
	for k := range props {
		s, ok := b.byKey[k]
		switch {
		case !ok:
			p = append(p, fmt.Sprintf("values.schema.json accepts settings.%s, which gatehouse serve does not know", k))
		case s.Secret:
			p = append(p, fmt.Sprintf("values.schema.json accepts the secret settings.%s: secrets must come from Secrets", k))
		case managedSettings[k] != "":
			p = append(p, fmt.Sprintf("values.schema.json accepts settings.%s, which the chart sets from %s", k, managedSettings[k]))
		}
	}
	for k := range b.byKey {
		if _, ok := props[k]; !ok && managedSettings[k] == "" {
			p = append(p, fmt.Sprintf("gatehouse serve has the setting %s (%s), which the chart neither sets nor accepts in settings: add it to values.schema.json, values.yaml and README.md, or to managedSettings", k, b.byKey[k].Env))
		}
	}
	for k := range managedSettings {
		if _, ok := b.byKey[k]; !ok {
			p = append(p, fmt.Sprintf("managedSettings lists %s, which gatehouse serve no longer has", k))
		}
	}
	sort.Strings(p)
	return p
}

func TestChartSettingsAreTheBinarys(t *testing.T) {
	require.Empty(t, schemaSettingsFailures(t, chartDir, loadBinarySettings(t)))
}

// podTemplate renders vals and returns the gatehouse pod template as JSON.
func podTemplate(t testing.TB, dir string, vals map[string]any) []byte {
	t.Helper()
	r, err := render(t, dir, vals)
	require.NoError(t, err)
	d := r.deployment()
	require.NotNil(t, d)
	js, err := json.Marshal(d.Spec.Template)
	require.NoError(t, err)
	return js
}

// restartFailures: a change of a static setting or a secret changes the pod
// template (so the pods roll); a change of the declarative configuration
// does not (the pods apply it themselves).
func restartFailures(t testing.TB, dir string) []string {
	t.Helper()
	base := map[string]any{"jwt": map[string]any{"secret": jwtSecret}}
	with := func(k string, v any) map[string]any {
		m := map[string]any{"jwt": map[string]any{"secret": jwtSecret}}
		m[k] = v
		return m
	}
	ref := podTemplate(t, dir, base)
	var p []string
	for name, vals := range map[string]map[string]any{
		"settings.logLevel": with("settings", map[string]any{"logLevel": "debug"}),
		"jwt.secret":        {"jwt": map[string]any{"secret": strings.ToUpper(jwtSecret)}},
	} {
		if bytes.Equal(ref, podTemplate(t, dir, vals)) {
			p = append(p, "changing "+name+" leaves the pod template as it was: the pods keep the old value until restarted by hand")
		}
	}
	decl := with("declarativeConfig", map[string]any{"content": map[string]any{"services": []any{map[string]any{"name": "s", "endpoints": []any{map[string]any{"url": "http://s:80"}}}}}})
	if !bytes.Equal(ref, podTemplate(t, dir, decl)) {
		p = append(p, "changing declarativeConfig.content changes the pod template: every GitOps change would restart all pods")
	}
	return p
}

func TestChartRestartsOnlyForStaticSettings(t *testing.T) {
	require.Empty(t, restartFailures(t, chartDir))
}

// ---------------------------------------------------------------- mutations

// copyChart copies the chart to a temporary directory.
func copyChart(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "gatehouse")
	require.NoError(t, os.CopyFS(dst, os.DirFS(chartDir)))
	return dst
}

// edit replaces old with new in file of the chart at dir; old must occur
// exactly once, so that a mutation cannot silently stop applying.
func edit(t *testing.T, dir, file, old, new string) {
	t.Helper()
	path := filepath.Join(dir, file)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(b), old), "%s: %q must occur once for the mutation to apply", file, old)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

// TestChartAssertionsFailOnBrokenCharts breaks a copy of the chart in one
// place at a time and requires the assertion that guards that place to
// fail: none of the assertions above can pass whatever the chart says.
func TestChartAssertionsFailOnBrokenCharts(t *testing.T) {
	b := loadBinarySettings(t)
	sets := map[string]map[string]any{}
	for _, vs := range valueSets() {
		sets[vs.name] = vs.values
	}
	const ext = "three replicas on external PostgreSQL and Redis with existing secrets"
	const plain = "plain-text secrets kept in the chart's Secret"
	type mutation struct {
		name, file, old, new string
		set                  string // value set to render
		check                string // the check that must fail
	}
	mutations := []mutation{
		{"a misspelled field", "templates/deployment.yaml", "readinessProbe:", "readynessProbe:", "defaults", "decode"},
		{"a misspelled nested field", "templates/service.yaml", "targetPort: http", "targetport: http", "defaults", "decode"},
		{"the image's entrypoint replaced", "templates/deployment.yaml", "imagePullPolicy: {{ .Values.image.pullPolicy }}\n", "imagePullPolicy: {{ .Values.image.pullPolicy }}\n          args: [\"version\"]\n", "defaults", "workload"},
		{"liveness on /readyz", "templates/deployment.yaml", "path: /healthz", "path: /readyz", "defaults", "probes and ports"},
		{"readiness on the gateway port", "templates/deployment.yaml", "readinessProbe:\n            httpGet:\n              path: /readyz\n              port: console", "readinessProbe:\n            httpGet:\n              path: /readyz\n              port: http", "defaults", "probes and ports"},
		{"the console on another port", "templates/deployment.yaml", "value: \":8001\"", "value: \":9001\"", "defaults", "probes and ports"},
		{"a fixed grace period", "templates/deployment.yaml", "{{ add $shutdown .Values.preStopSeconds 15 }}", "30", ext, "grace period"},
		{"the shutdown timeout misread", "templates/_helpers.tpl", `{{ $n = mul $n 60 }}`, `{{ $n = mul $n 1 }}`, "HPA, PDB and ServiceMonitor", "grace period"},
		{"no preStop pause", "templates/deployment.yaml", `command: ["sleep", "{{ .Values.preStopSeconds }}"]`, `command: ["true"]`, "defaults", "grace period"},
		{"a rollout that drops a pod", "templates/deployment.yaml", "maxUnavailable: 0", "maxUnavailable: 1", ext, "rolling update"},
		{"root allowed", "templates/deployment.yaml", "runAsNonRoot: true\n        runAsUser: 10001", "runAsNonRoot: false\n        runAsUser: 10001", "defaults", "non-root, read-only root"},
		{"a writable root filesystem", "templates/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "defaults", "non-root, read-only root"},
		{"a writable configuration mount", "templates/deployment.yaml", "mountPath: /etc/gatehouse/settings\n              readOnly: true", "mountPath: /etc/gatehouse/settings", "defaults", "non-root, read-only root"},
		{"no temporary directory", "templates/deployment.yaml", "            - name: tmp\n              mountPath: /tmp\n", "", "defaults", "non-root, read-only root"},
		{"a misspelled variable", "templates/deployment.yaml", "- name: GATEHOUSE_LOG_FILE", "- name: GATEHOUSE_LOGFILE", "defaults", "settings known"},
		{"a setting under a wrong key", "templates/configmap.yaml", "{{- toYaml .Values.settings | nindent 4 }}", "{{- toYaml .Values.settings | nindent 4 }}\n    loglevel: debug", "defaults", "settings known"},
		{"a managed setting in the file", "templates/configmap.yaml", "{{- toYaml .Values.settings | nindent 4 }}", "{{- toYaml .Values.settings | nindent 4 }}\n    dataDir: /srv", "defaults", "settings known"},
		{"the settings file by subPath", "templates/deployment.yaml", "mountPath: /etc/gatehouse/settings\n", "mountPath: /etc/gatehouse/settings/settings.yaml\n              subPath: settings.yaml\n", "defaults", "settings known"},
		{"a fixed instance id", "templates/deployment.yaml", "valueFrom:\n                fieldRef:\n                  fieldPath: metadata.name", "value: gatehouse", "defaults", "instance id"},
		{"the JWT secret in plain text", "templates/deployment.yaml",
			`{{- include "gatehouse.secretEnv" (dict "env" "GATEHOUSE_JWT_SECRET" "secret" $secret "key" "jwt-secret") | nindent 12 }}`,
			"- name: GATEHOUSE_JWT_SECRET\n              value: {{ .Values.jwt.secret | quote }}", plain, "secrets only from Secrets"},
		{"a secret in a ConfigMap", "templates/configmap.yaml", "{{- toYaml .Values.settings | nindent 4 }}", "{{- toYaml .Values.settings | nindent 4 }}\n    # {{ .Values.redis.password }}", plain, "secrets only from Secrets"},
		{"a Secret key the pods do not find", "templates/secret.yaml", `set $data "database-dsn"`, `set $data "dsn"`, plain, "secrets only from Secrets"},
		{"the existing Secret ignored", "templates/deployment.yaml",
			`(dict "env" "GATEHOUSE_DATABASE" "secret" .Values.database.existingSecret "key" .Values.database.existingSecretKey)`,
			`(dict "env" "GATEHOUSE_DATABASE" "secret" "gatehouse-db" "key" .Values.database.existingSecretKey)`, ext, "secrets only from Secrets"},
		{"the declarative file by subPath", "templates/deployment.yaml", "mountPath: {{ $configDir }}\n", "mountPath: {{ $configDir }}/gatehouse.yaml\n              subPath: gatehouse.yaml\n", "defaults", "declarative file"},
		{"the existing ConfigMap ignored", "templates/deployment.yaml", `{{ .Values.declarativeConfig.existingConfigMap | default (printf "%s-config" $fullname) }}`, `{{ printf "%s-config" $fullname }}`, "SQLite on a volume", "declarative file"},
		{"the console Service on the gateway port", "templates/service.yaml", "targetPort: console", "targetPort: http", "defaults", "services select the pods"},
		{"a Service selecting nothing", "templates/service.yaml", "spec:\n  type: {{ .Values.service.gateway.type }}\n  selector:\n", "spec:\n  type: {{ .Values.service.gateway.type }}\n  selector:\n    tier: web\n", "defaults", "services select the pods"},
		{"replicas fixed under an HPA", "templates/deployment.yaml", "{{- if not .Values.autoscaling.enabled }}\n  replicas:", "{{- if true }}\n  replicas:", "HPA, PDB and ServiceMonitor", "scaling"},
		{"an HPA on memory only", "templates/hpa.yaml", "name: cpu", "name: memory", "HPA, PDB and ServiceMonitor", "scaling"},
		{"a PDB that blocks drains", "templates/pdb.yaml", "maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}", "maxUnavailable: 0", "HPA, PDB and ServiceMonitor", "scaling"},
		{"metrics scraped without the token", "templates/servicemonitor.yaml", "name: {{ .Values.metrics.serviceMonitor.tokenSecret.name }}", "name: gatehouse-token", "HPA, PDB and ServiceMonitor", "scaling"},
		{"metrics scraped on the gateway", "templates/servicemonitor.yaml", "      app.kubernetes.io/component: console\n", "", "HPA, PDB and ServiceMonitor", "scaling"},
		{"an Ingress to the wrong port", "templates/ingress.yaml", "number: {{ $port }}", "number: 80", "Ingress", "exposure"},
		{"the console exposed by default", "templates/ingress.yaml", "{{- if $ing.enabled }}", "{{- if or $ing.enabled (eq $component \"console\") }}", "defaults", "exposure"},
		{"an HTTPRoute to the wrong Service", "templates/httproute.yaml", "- name: {{ $service }}", "- name: {{ include \"gatehouse.fullname\" $ }}", "Gateway API", "exposure"},
		{"an evaluation Redis without a volume", "templates/redis.yaml", "  volumeClaimTemplates:", "  x-volumeClaimTemplates:", "evaluation Redis and PostgreSQL", "decode"},
		{"the evaluation Redis not used", "templates/_helpers.tpl", `{{ include "gatehouse.redisName" . }}:6379`, `{{ include "gatehouse.redisName" . }}:6380`, "evaluation Redis and PostgreSQL", "evaluation servers"},
		{"the evaluation DSN with another password", "templates/postgresql.yaml", `$auth.username $password $name`, `$auth.username (randAlphaNum 32) $name`, "evaluation Redis and PostgreSQL", "evaluation servers"},
		{"pods not spread", "templates/deployment.yaml", "topologyKey: kubernetes.io/hostname\n          whenUnsatisfiable", "topologyKey: kubernetes.io/os\n          whenUnsatisfiable", "defaults", "spread across nodes"},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			dir := copyChart(t)
			edit(t, dir, m.file, m.old, m.new)
			vals, ok := sets[m.set]
			require.True(t, ok || m.set == "defaults", "unknown value set %q", m.set)
			r, err := render(t, dir, vals)
			if m.check == "decode" {
				require.Error(t, err, "a manifest the Kubernetes API types do not accept must fail decoding")
				return
			}
			require.NoError(t, err)
			var fn func(*release, binarySettings) []string
			for _, c := range checks() {
				if c.name == m.check {
					fn = c.fn
				}
			}
			require.NotNil(t, fn, "no check %q", m.check)
			p := fn(r, b)
			require.NotEmpty(t, p, "check %q passed on a chart broken by %s", m.check, m.name)
			t.Logf("%s: %s", m.check, strings.Join(p, "; "))
		})
	}

	t.Run("a guard rail removed", func(t *testing.T) {
		dir := copyChart(t)
		edit(t, dir, "templates/_helpers.tpl", "{{- if not (or .Values.jwt.secret .Values.jwt.existingSecret) }}", "{{- if false }}")
		require.NotEmpty(t, guardFailures(t, dir))
	})
	t.Run("a guard rail that names no value", func(t *testing.T) {
		dir := copyChart(t)
		edit(t, dir, "templates/_helpers.tpl", "set redis.addr (and redis.password", "configure Redis (and redis.password")
		require.NotEmpty(t, guardFailures(t, dir))
	})
	t.Run("the schema loosened", func(t *testing.T) {
		dir := copyChart(t)
		edit(t, dir, "values.schema.json", `"description": "GATEHOUSE_LOG_LEVEL",
          "enum"`, `"description": "GATEHOUSE_LOG_LEVEL",
          "x-enum"`)
		require.NotEmpty(t, schemaFailures(t, dir))
	})
	t.Run("a default the schema refuses", func(t *testing.T) {
		dir := copyChart(t)
		edit(t, dir, "values.yaml", "  logFormat: json", "  logFormat: yaml")
		require.NotEmpty(t, lintStrict(t, dir, nil), "helm lint --strict must fail")
	})
	t.Run("a lint warning", func(t *testing.T) {
		dir := copyChart(t)
		// An invalid resource name is a lint warning, which --strict
		// turns into a failure.
		edit(t, dir, "templates/configmap.yaml", "{{ include \"gatehouse.fullname\" . }}-settings", "{{ include \"gatehouse.fullname\" . }}-Settings")
		require.NotEmpty(t, lintStrict(t, dir, nil), "helm lint --strict must fail on a warning")
	})
	t.Run("a setting the schema offers that the binary lacks", func(t *testing.T) {
		dir := copyChart(t)
		edit(t, dir, "values.schema.json", `"logMaxSizeMB": {`, `"logMaxSizeMb": {`)
		require.NotEmpty(t, schemaSettingsFailures(t, dir, b))
	})
	t.Run("a setting of the binary the chart forgot", func(t *testing.T) {
		bb := binarySettings{byEnv: b.byEnv, byKey: map[string]setting{}}
		for k, v := range b.byKey {
			bb.byKey[k] = v
		}
		bb.byKey["futureSetting"] = setting{Env: "GATEHOUSE_FUTURE_SETTING", Key: "futureSetting"}
		require.NotEmpty(t, schemaSettingsFailures(t, chartDir, bb))
	})
	t.Run("the settings checksum removed", func(t *testing.T) {
		dir := copyChart(t)
		edit(t, dir, "templates/deployment.yaml", "checksum/settings: {{ toYaml .Values.settings | sha256sum }}", "checksum/settings: fixed")
		require.NotEmpty(t, restartFailures(t, dir))
	})
	t.Run("the declarative file in the checksum", func(t *testing.T) {
		dir := copyChart(t)
		edit(t, dir, "templates/deployment.yaml", "checksum/settings: {{ toYaml .Values.settings | sha256sum }}", "checksum/settings: {{ toYaml .Values | sha256sum }}")
		require.NotEmpty(t, restartFailures(t, dir))
	})
}

// TestDecodeStrictRefusesUnknownFields shows the decoder itself is strict.
func TestDecodeStrictRefusesUnknownFields(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {portz: []}\n",
		"duplicate key":    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nmetadata: {name: b}\n",
		"unknown kind":     "apiVersion: v1\nkind: Servize\nmetadata: {name: a}\n",
		"wrong type":       "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: http}]}\n",
		"CRD field typo":   "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: a}\nspec: {endpoint: []}\n",
		"route field typo": "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a}\nspec: {parentRef: []}\n",
	} {
		_, err := decodeStrict([]byte(doc))
		require.Error(t, err, name)
	}
	_, err := decodeStrict([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n"))
	require.NoError(t, err)
}
