// The render itself, as helm.sh/helm/v3/pkg/engine does it: one template set holding every
// file, missingkey=zero with "<no value>" erased, include/tpl bound to the set, partials
// (`_*`) and NOTES.txt kept out of the manifest stream.
package main

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

type release struct {
	Name      string
	Namespace string
	Service   string
	IsInstall bool
	IsUpgrade bool
	Revision  int
}

type kubeVersion struct {
	Version    string
	Major      string
	Minor      string
	GitVersion string
}

func (k kubeVersion) String() string { return k.Version }

type versionSet []string

func (v versionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type capabilities struct {
	KubeVersion kubeVersion
	APIVersions versionSet
}

type rendered struct {
	name    string
	content string
}

const recursionLimit = 1000

func render(c *chart, values map[string]interface{}, rel release, caps capabilities) (manifests []rendered, notes string, err error) {
	top := map[string]interface{}{
		"Values":       values,
		"Release":      rel,
		"Chart":        c.metadata,
		"Capabilities": caps,
		"Files":        c.files,
	}
	funcs := funcMap()
	t := template.New("gotpl").Option("missingkey=zero")
	depth := map[string]int{}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		depth[name]++
		defer func() { depth[name]-- }()
		if depth[name] > recursionLimit {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := t.Clone()
		if err != nil {
			return "", err
		}
		name := "tpl"
		if m, ok := data.(map[string]interface{}); ok {
			if tm, ok := m["Template"].(map[string]interface{}); ok {
				if n, ok := tm["Name"].(string); ok {
					name = n
				}
			}
		}
		parsed, err := clone.New(name).Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %v", text, err)
		}
		var buf bytes.Buffer
		if err := parsed.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("error calling tpl: %v", err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	t.Funcs(funcs)
	names := c.templateNames()
	for _, name := range names {
		if _, err := t.New(name).Parse(c.templates[name]); err != nil {
			return nil, "", err
		}
	}
	for _, name := range names {
		base := path.Base(name)
		if strings.HasPrefix(base, "_") {
			continue
		}
		data := map[string]interface{}{}
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{
			"Name":     name,
			"BasePath": c.name + "/templates",
		}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, name, data); err != nil {
			return nil, "", err
		}
		out := strings.ReplaceAll(buf.String(), "<no value>", "")
		if base == "NOTES.txt" {
			notes = out
			continue
		}
		manifests = append(manifests, rendered{name: name, content: out})
	}
	return manifests, notes, nil
}

var (
	docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)
	kindLine     = regexp.MustCompile(`(?m)^kind:[ \t]*["']?([A-Za-z0-9]+)`)
	hookLine     = regexp.MustCompile(`(?m)^[ \t]+["']?helm\.sh/hook["']?:`)
	weightLine   = regexp.MustCompile(`(?m)^[ \t]+["']?helm\.sh/hook-weight["']?:[ \t]*["']?(-?[0-9]+)`)
	nameLine     = regexp.MustCompile(`(?m)^  name:[ \t]*["']?([^"'\s]+)`)
)

// installOrder is Helm's (pkg/releaseutil/kind_sorter.go): kinds others depend on first.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
	"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
	"ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
	"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
	"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
	"DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
	"APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}

type document struct {
	source, content, kind, name string
	hook                        bool
	weight                      int
}

func kindRank(kind string) int {
	for i, k := range installOrder {
		if k == kind {
			return i
		}
	}
	return len(installOrder)
}

// manifestStream prints what `helm template` prints: every non-empty document under a
// `# Source:` comment naming its template; resources in Helm's install order (unknown kinds
// last, by kind), then the hooks by weight and name.
func manifestStream(manifests []rendered) string {
	var resources, hooks []document
	for _, m := range manifests {
		for _, content := range docSeparator.Split(m.content, -1) {
			content = strings.TrimSpace(content)
			if content == "" {
				continue
			}
			d := document{source: m.name, content: content}
			if k := kindLine.FindStringSubmatch(content); k != nil {
				d.kind = k[1]
			}
			if n := nameLine.FindStringSubmatch(content); n != nil {
				d.name = n[1]
			}
			if hookLine.MatchString(content) {
				d.hook = true
				if w := weightLine.FindStringSubmatch(content); w != nil {
					d.weight, _ = strconv.Atoi(w[1])
				}
				hooks = append(hooks, d)
			} else {
				resources = append(resources, d)
			}
		}
	}
	sort.SliceStable(resources, func(i, j int) bool {
		a, b := kindRank(resources[i].kind), kindRank(resources[j].kind)
		if a == b && a == len(installOrder) {
			return resources[i].kind < resources[j].kind
		}
		return a < b
	})
	sort.SliceStable(hooks, func(i, j int) bool {
		if hooks[i].weight != hooks[j].weight {
			return hooks[i].weight < hooks[j].weight
		}
		return hooks[i].name < hooks[j].name
	})
	var out strings.Builder
	for _, d := range append(resources, hooks...) {
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", d.source, d.content)
	}
	return out.String()
}
