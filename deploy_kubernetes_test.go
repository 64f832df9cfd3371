package veil

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/miekg/dns"
)

// k8sDir holds the Kubernetes example: CoreDNS replicas with veil sharing
// the limiter through one Redis.
const k8sDir = "deploy/kubernetes"

// k8sMaxDocs bounds the YAML documents read from one file.
const k8sMaxDocs = 64

// k8sObjects is every object of the Kubernetes example, decoded strictly
// into its typed form and indexed by name.
type k8sObjects struct {
	namespaces   map[string]*corev1.Namespace
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	services     map[string]*corev1.Service
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	netPolicies  map[string]*networkingv1.NetworkPolicy
}

// TestKubernetesExample checks that the manifests in deploy/kubernetes are
// well-formed Kubernetes objects that refer to each other correctly, and
// that the Corefile and zone file they carry are accepted by veil's parser
// and miekg/dns.
func TestKubernetesExample(t *testing.T) {
	objs := loadK8sObjects(t)
	for _, want := range []struct {
		what string
		n    int
	}{
		{"ConfigMap", len(objs.configMaps)},
		{"Secret", len(objs.secrets)},
		{"Deployment", len(objs.deployments)},
		{"StatefulSet", len(objs.statefulSets)},
		{"Service", len(objs.services)},
	} {
		if want.n == 0 {
			t.Fatalf("%s has no %s", k8sDir, want.what)
		}
	}

	t.Run("namespaces", func(t *testing.T) { checkK8sNamespaces(t, objs) })
	t.Run("selectors", func(t *testing.T) { checkK8sSelectors(t, objs) })
	t.Run("secret_refs", func(t *testing.T) { checkK8sSecretRefs(t, objs) })
	t.Run("service_ports", func(t *testing.T) { checkK8sServicePorts(t, objs) })
	t.Run("corefile", func(t *testing.T) { checkK8sCorefile(t, objs) })
}

// loadK8sObjects reads every YAML document of every *.yaml file in k8sDir
// and decodes it strictly (unknown fields are errors) into the typed object
// its apiVersion and kind name.
func loadK8sObjects(t *testing.T) k8sObjects {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.yaml files in %s", k8sDir)
	}
	objs := k8sObjects{
		namespaces:   map[string]*corev1.Namespace{},
		configMaps:   map[string]*corev1.ConfigMap{},
		secrets:      map[string]*corev1.Secret{},
		services:     map[string]*corev1.Service{},
		deployments:  map[string]*appsv1.Deployment{},
		statefulSets: map[string]*appsv1.StatefulSet{},
		netPolicies:  map[string]*networkingv1.NetworkPolicy{},
	}
	for _, file := range files {
		for i, doc := range yamlDocuments(t, file) {
			where := file + " document " + strconv.Itoa(i+1)
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := k8syaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			name := head.Metadata.Name
			if name == "" {
				t.Errorf("%s: %s without metadata.name", where, head.Kind)
				continue
			}
			var obj any
			switch head.APIVersion + " " + head.Kind {
			case "v1 Namespace":
				obj = addK8sObject(t, where, objs.namespaces, name)
			case "v1 ConfigMap":
				obj = addK8sObject(t, where, objs.configMaps, name)
			case "v1 Secret":
				obj = addK8sObject(t, where, objs.secrets, name)
			case "v1 Service":
				obj = addK8sObject(t, where, objs.services, name)
			case "apps/v1 Deployment":
				obj = addK8sObject(t, where, objs.deployments, name)
			case "apps/v1 StatefulSet":
				obj = addK8sObject(t, where, objs.statefulSets, name)
			case "networking.k8s.io/v1 NetworkPolicy":
				obj = addK8sObject(t, where, objs.netPolicies, name)
			default:
				t.Errorf("%s: unknown apiVersion %q and kind %q", where, head.APIVersion, head.Kind)
				continue
			}
			if err := k8syaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s (%s %s): %v", where, head.Kind, name, err)
			}
		}
	}
	return objs
}

// addK8sObject makes a new object named name in m and returns it, for the
// strict decoder to fill; a second object of the kind and name is an error.
func addK8sObject[T any](t *testing.T, where string, m map[string]*T, name string) *T {
	t.Helper()
	if _, dup := m[name]; dup {
		t.Errorf("%s: a second object named %q of its kind", where, name)
	}
	obj := new(T)
	m[name] = obj
	return obj
}

// yamlDocuments splits the YAML file at file into its non-empty documents,
// each re-encoded on its own.
func yamlDocuments(t *testing.T, file string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs [][]byte
	for i := 0; i < k8sMaxDocs; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(n.Content) == 0 || n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" {
			continue
		}
		out, err := yaml.Marshal(&n)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		docs = append(docs, out)
	}
	t.Fatalf("%s: more than %d YAML documents", file, k8sMaxDocs)
	return nil
}

// checkK8sNamespaces checks that every namespaced object sits in one
// namespace, and that the example creates it.
func checkK8sNamespaces(t *testing.T, objs k8sObjects) {
	seen := map[string]string{}
	note := func(kind, name, ns string) {
		if ns == "" {
			t.Errorf("%s %s has no namespace", kind, name)
		}
		seen[ns] = kind + " " + name
	}
	for name, o := range objs.configMaps {
		note("ConfigMap", name, o.Namespace)
	}
	for name, o := range objs.secrets {
		note("Secret", name, o.Namespace)
	}
	for name, o := range objs.services {
		note("Service", name, o.Namespace)
	}
	for name, o := range objs.deployments {
		note("Deployment", name, o.Namespace)
	}
	for name, o := range objs.statefulSets {
		note("StatefulSet", name, o.Namespace)
	}
	for name, o := range objs.netPolicies {
		note("NetworkPolicy", name, o.Namespace)
	}
	if len(seen) != 1 {
		t.Errorf("objects in %d namespaces (%v), want one", len(seen), seen)
	}
	for ns := range seen {
		if len(objs.namespaces) > 0 && objs.namespaces[ns] == nil {
			t.Errorf("namespace %s is used but not created (the Namespace objects are %v)", ns, keysOf(objs.namespaces))
		}
	}
}

// checkK8sSelectors checks that every workload's selector selects its own
// pods, that every Service selects the pods of exactly one workload, that
// a StatefulSet's serviceName is a Service, and that every NetworkPolicy
// selects pods of a workload.
func checkK8sSelectors(t *testing.T, objs k8sObjects) {
	pods := map[string]map[string]string{} // workload -> pod labels
	for name, d := range objs.deployments {
		pods["Deployment "+name] = d.Spec.Template.Labels
		if d.Spec.Selector == nil || !labelsMatch(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("Deployment %s: selector %v does not select its pod labels %v", name, d.Spec.Selector, d.Spec.Template.Labels)
		}
	}
	for name, s := range objs.statefulSets {
		pods["StatefulSet "+name] = s.Spec.Template.Labels
		if s.Spec.Selector == nil || !labelsMatch(s.Spec.Selector.MatchLabels, s.Spec.Template.Labels) {
			t.Errorf("StatefulSet %s: selector %v does not select its pod labels %v", name, s.Spec.Selector, s.Spec.Template.Labels)
		}
		if objs.services[s.Spec.ServiceName] == nil {
			t.Errorf("StatefulSet %s: serviceName %q is not a Service of the example", name, s.Spec.ServiceName)
		}
	}
	for name, svc := range objs.services {
		if got := selectedWorkloads(svc.Spec.Selector, pods); len(got) != 1 {
			t.Errorf("Service %s: selector %v selects the pods of %v, want one workload", name, svc.Spec.Selector, got)
		}
	}
	for name, np := range objs.netPolicies {
		if got := selectedWorkloads(np.Spec.PodSelector.MatchLabels, pods); len(got) != 1 {
			t.Errorf("NetworkPolicy %s: podSelector %v selects the pods of %v, want one workload", name, np.Spec.PodSelector.MatchLabels, got)
		}
		for _, rule := range np.Spec.Ingress {
			for _, peer := range rule.From {
				if peer.PodSelector == nil {
					continue
				}
				if got := selectedWorkloads(peer.PodSelector.MatchLabels, pods); len(got) != 1 {
					t.Errorf("NetworkPolicy %s: ingress from %v selects the pods of %v, want one workload", name, peer.PodSelector.MatchLabels, got)
				}
			}
		}
	}
}

// checkK8sSecretRefs checks that every environment variable taken from a
// Secret names a Secret of the example and a key it has.
func checkK8sSecretRefs(t *testing.T, objs k8sObjects) {
	refs := 0
	for workload, spec := range podSpecs(objs) {
		for _, c := range append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...) {
			for _, env := range c.Env {
				if env.ValueFrom == nil || env.ValueFrom.SecretKeyRef == nil {
					continue
				}
				refs++
				ref := env.ValueFrom.SecretKeyRef
				s := objs.secrets[ref.Name]
				if s == nil {
					t.Errorf("%s container %s: env %s takes Secret %q, which the example lacks", workload, c.Name, env.Name, ref.Name)
					continue
				}
				_, inData := s.Data[ref.Key]
				value, inString := s.StringData[ref.Key]
				if !inData && !inString {
					t.Errorf("%s container %s: env %s takes key %q of Secret %s, which has no such key", workload, c.Name, env.Name, ref.Key, ref.Name)
				}
				if strings.ContainsAny(value, " \t\n{}\"'#") {
					t.Errorf("Secret %s key %s holds spaces, quotes, braces or #, which break the Corefile and ACL lines it goes into", ref.Name, ref.Key)
				}
			}
		}
	}
	if refs == 0 {
		t.Error("no container takes an environment variable from a Secret")
	}
}

// checkK8sServicePorts checks that every Service port's targetPort is a
// port of a container of the pods it selects, with the same protocol.
func checkK8sServicePorts(t *testing.T, objs k8sObjects) {
	specs := podSpecs(objs)
	for name, svc := range objs.services {
		var containers []corev1.Container
		for workload, spec := range specs {
			if labelsMatch(svc.Spec.Selector, workloadLabels(objs, workload)) {
				containers = append(containers, spec.Containers...)
			}
		}
		for _, p := range svc.Spec.Ports {
			if !containerHasPort(containers, p.TargetPort, protocolOf(p.Protocol)) {
				t.Errorf("Service %s port %s: targetPort %s/%s is no container port of the pods it selects", name, p.Name, p.TargetPort.String(), protocolOf(p.Protocol))
			}
		}
	}
}

// checkK8sCorefile takes the Corefile and zone file from the ConfigMap the
// Deployment mounts and checks them: the Corefile parses, its veil
// directive parses with veil's own parser, its cluster URL names the Redis
// Service and port, its file plugin reads a zone file of the mount that
// parses, and its metrics, health and readiness ports are the
// Deployment's.
func checkK8sCorefile(t *testing.T, objs k8sObjects) {
	if len(objs.deployments) != 1 {
		t.Fatalf("%d Deployments, want the CoreDNS one", len(objs.deployments))
	}
	var deploy *appsv1.Deployment
	for _, d := range objs.deployments {
		deploy = d
	}
	spec := deploy.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("Deployment %s has %d containers, want 1", deploy.Name, len(spec.Containers))
	}
	ctr := spec.Containers[0]

	// The mounted ConfigMap and the files it puts in the mount.
	files := map[string]string{} // path in the container -> content
	var cm *corev1.ConfigMap
	for _, vol := range spec.Volumes {
		if vol.ConfigMap == nil {
			continue
		}
		cm = objs.configMaps[vol.ConfigMap.Name]
		if cm == nil {
			t.Fatalf("Deployment %s: volume %s takes ConfigMap %q, which the example lacks", deploy.Name, vol.Name, vol.ConfigMap.Name)
		}
		mount := ""
		for _, m := range ctr.VolumeMounts {
			if m.Name == vol.Name {
				mount = m.MountPath
			}
		}
		if mount == "" {
			t.Fatalf("Deployment %s: container %s does not mount volume %s", deploy.Name, ctr.Name, vol.Name)
		}
		items := vol.ConfigMap.Items
		if len(items) == 0 {
			for key := range cm.Data {
				items = append(items, corev1.KeyToPath{Key: key, Path: key})
			}
		}
		for _, it := range items {
			data, ok := cm.Data[it.Key]
			if !ok {
				t.Errorf("Deployment %s: volume %s takes key %q of ConfigMap %s, which has no such key", deploy.Name, vol.Name, it.Key, cm.Name)
			}
			files[path.Join(mount, it.Path)] = data
		}
	}
	if cm == nil {
		t.Fatalf("Deployment %s mounts no ConfigMap", deploy.Name)
	}

	// The Corefile named by -conf.
	conf := ""
	for i, arg := range ctr.Args {
		if arg == "-conf" && i+1 < len(ctr.Args) {
			conf = ctr.Args[i+1]
		}
	}
	corefile, ok := files[conf]
	if !ok {
		t.Fatalf("container %s: -conf %q is not a file of the mounted ConfigMap (files: %v)", ctr.Name, conf, keysOf(files))
	}

	// CoreDNS replaces {$VEIL_REDIS_PASSWORD} from the environment, which
	// the Deployment fills from the Secret: use the Secret's value.
	password := ""
	for _, env := range ctr.Env {
		if env.Name == "VEIL_REDIS_PASSWORD" && env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil {
			if s := objs.secrets[env.ValueFrom.SecretKeyRef.Name]; s != nil {
				password = s.StringData[env.ValueFrom.SecretKeyRef.Key]
			}
		}
	}
	if password == "" {
		t.Fatalf("container %s: no VEIL_REDIS_PASSWORD from a Secret's stringData", ctr.Name)
	}
	t.Setenv("VEIL_REDIS_PASSWORD", password)

	blocks, err := caddyfile.Parse(conf, strings.NewReader(corefile), nil)
	if err != nil {
		t.Fatalf("the Corefile does not parse: %v\n%s", err, corefile)
	}
	if len(blocks) != 1 {
		t.Fatalf("the Corefile has %d server blocks, want 1", len(blocks))
	}
	b := blocks[0]

	t.Run("ports", func(t *testing.T) {
		for _, tc := range []struct {
			directive, what string
			port            int32
		}{
			{"prometheus", "metrics port", portNamed(ctr, "metrics")},
			{"health", "liveness probe's port (path /health)", probePort(ctr.LivenessProbe, "/health")},
			{"ready", "readiness probe's port (path /ready)", probePort(ctr.ReadinessProbe, "/ready")},
		} {
			toks := b.Tokens[tc.directive]
			if len(toks) < 2 {
				t.Errorf("the Corefile has no %s with an address", tc.directive)
				continue
			}
			if want := ":" + strconv.Itoa(int(tc.port)); toks[1].Text != want {
				t.Errorf("the Corefile's %s listens on %q, want %q (the container's %s)", tc.directive, toks[1].Text, want, tc.what)
			}
		}
	})

	t.Run("zone_file", func(t *testing.T) {
		toks := b.Tokens["file"]
		if len(toks) < 2 {
			t.Fatal("the Corefile has no file directive with a path")
		}
		zone, ok := files[toks[1].Text]
		if !ok {
			t.Fatalf("file reads %s, which is not a file of the mount (files: %v)", toks[1].Text, keysOf(files))
		}
		origin := dns.Fqdn(strings.Split(b.Keys[0], ":")[0])
		zp := dns.NewZoneParser(strings.NewReader(zone), origin, toks[1].Text)
		soa, records := 0, 0
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			records++
			if rr.Header().Rrtype == dns.TypeSOA && rr.Header().Name == origin {
				soa++
			}
		}
		if err := zp.Err(); err != nil {
			t.Fatalf("zone file %s: %v", toks[1].Text, err)
		}
		if soa != 1 || records < 3 {
			t.Errorf("zone file %s: %d records, %d SOA at %s; want one SOA and some records", toks[1].Text, records, soa, origin)
		}
	})

	t.Run("cluster_url", func(t *testing.T) {
		raw, secret := "", ""
		toks := b.Tokens[pluginName]
		for i, tok := range toks {
			if tok.Text == "cluster" && i+1 < len(toks) {
				raw = toks[i+1].Text
			}
			if tok.Text == "password" && i+1 < len(toks) {
				secret = toks[i+1].Text
			}
		}
		if secret != password {
			t.Errorf("the cluster option's password is %q, want the Secret's value %q taken from {$VEIL_REDIS_PASSWORD}", secret, password)
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "redis" && u.Scheme != "rediss" {
			t.Fatalf("the veil block's cluster option has no redis:// or rediss:// URL: %q (%v)", raw, err)
		}
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil {
			t.Fatalf("cluster URL %s: %v", raw, err)
		}
		found := false
		for _, svc := range objs.services {
			if host != svc.Name+"."+svc.Namespace+".svc.cluster.local" {
				continue
			}
			found = true
			ports := []string{}
			for _, p := range svc.Spec.Ports {
				ports = append(ports, strconv.Itoa(int(p.Port)))
			}
			if !strings.Contains(" "+strings.Join(ports, " ")+" ", " "+port+" ") {
				t.Errorf("cluster URL %s: port %s, but Service %s has ports %v", raw, port, svc.Name, ports)
			}
			redis := false
			for _, s := range objs.statefulSets {
				redis = redis || labelsMatch(svc.Spec.Selector, s.Spec.Template.Labels)
			}
			if !redis {
				t.Errorf("cluster URL %s: Service %s does not select the Redis StatefulSet's pods", raw, svc.Name)
			}
		}
		if !found {
			t.Errorf("cluster URL %s: host %s is no Service's DNS name (NAME.NAMESPACE.svc.cluster.local)", raw, host)
		}
		if u.User == nil || u.User.Username() == "" {
			t.Errorf("cluster URL %s names no ACL user", raw)
		}
	})

	t.Run("veil_directive", func(t *testing.T) {
		toks := b.Tokens[pluginName]
		if len(toks) == 0 {
			t.Fatal("the Corefile has no veil directive")
		}
		c := caddy.NewTestController("dns", directiveText(toks))
		c.ServerBlockKeys = b.Keys
		if _, err := parse(c); err != nil {
			t.Errorf("the veil directive does not parse: %v\n%s", err, corefile)
		}
	})
}

// podSpecs returns the pod template of every workload, keyed "Kind name".
func podSpecs(objs k8sObjects) map[string]corev1.PodSpec {
	specs := map[string]corev1.PodSpec{}
	for name, d := range objs.deployments {
		specs["Deployment "+name] = d.Spec.Template.Spec
	}
	for name, s := range objs.statefulSets {
		specs["StatefulSet "+name] = s.Spec.Template.Spec
	}
	return specs
}

// workloadLabels returns the pod labels of a workload keyed "Kind name",
// or nil.
func workloadLabels(objs k8sObjects, workload string) map[string]string {
	kind, name, _ := strings.Cut(workload, " ")
	switch kind {
	case "Deployment":
		if d := objs.deployments[name]; d != nil {
			return d.Spec.Template.Labels
		}
	case "StatefulSet":
		if s := objs.statefulSets[name]; s != nil {
			return s.Spec.Template.Labels
		}
	}
	return nil
}

// selectedWorkloads returns the workloads whose pod labels the selector
// matches; an empty selector matches none.
func selectedWorkloads(selector map[string]string, pods map[string]map[string]string) []string {
	var got []string
	for workload, labels := range pods {
		if labelsMatch(selector, labels) {
			got = append(got, workload)
		}
	}
	return got
}

// labelsMatch reports whether the non-empty selector matches labels.
func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// containerHasPort reports whether one of containers has the port target
// (a name or a number) with protocol.
func containerHasPort(containers []corev1.Container, target intstr.IntOrString, protocol corev1.Protocol) bool {
	for _, c := range containers {
		for _, p := range c.Ports {
			if protocolOf(p.Protocol) != protocol {
				continue
			}
			if target.Type == intstr.String && p.Name == target.StrVal || target.Type == intstr.Int && p.ContainerPort == target.IntVal {
				return true
			}
		}
	}
	return false
}

// protocolOf returns p, or TCP, Kubernetes's default, if p is empty.
func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// portNamed returns the number of c's port called name, or 0.
func portNamed(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// probePort returns the port of an HTTP probe of urlPath given by number,
// or 0.
func probePort(p *corev1.Probe, urlPath string) int32 {
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != urlPath || p.HTTPGet.Port.Type != intstr.Int {
		return 0
	}
	return p.HTTPGet.Port.IntVal
}

// keysOf returns the keys of m, for messages.
func keysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
