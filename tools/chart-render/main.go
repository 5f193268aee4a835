// chart-render renders a Helm chart exactly the way `helm template` does, with Helm's own
// engine (Go text/template + sprig v3 + Helm's functions), where no helm binary is available.
//
//	chart-render [--name N] [--namespace NS] [-f values.yaml]... [--set k=v]...
//	             [--set-string k=v]... [--kube-version v1.30.0] [--api-versions g/v]...
//	             [--notes | --print-values] CHART_DIR
//
// Prints the manifest stream (or NOTES.txt, or the merged values as JSON) on stdout; exits 1
// with the error on stderr when the chart fails to render.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"

	"github.com/Masterminds/semver"
)

type repeated []string

func (r *repeated) String() string     { return fmt.Sprint(*r) }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

type override struct {
	arg      string
	asString bool
}

// orderedSets keeps --set and --set-string in command-line order, as Helm applies them.
type orderedSets struct {
	list     *[]override
	asString bool
}

func (o orderedSets) String() string { return "" }
func (o orderedSets) Set(v string) error {
	*o.list = append(*o.list, override{v, o.asString})
	return nil
}

var kubeVersionPattern = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)$`)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("chart-render", flag.ContinueOnError)
	name := fl.String("name", "release-name", "release name")
	namespace := fl.String("namespace", "default", "release namespace")
	kubeVer := fl.String("kube-version", "v1.30.0", "Kubernetes version for .Capabilities")
	isUpgrade := fl.Bool("is-upgrade", false, "render as an upgrade instead of an install")
	notesOnly := fl.Bool("notes", false, "print the rendered NOTES.txt instead of the manifests")
	printValues := fl.Bool("print-values", false, "print the merged values as JSON and stop")
	var valueFiles, apiVersions repeated
	var sets []override
	fl.Var(&valueFiles, "f", "values file (repeatable; later files win)")
	fl.Var(&valueFiles, "values", "same as -f")
	fl.Var(orderedSets{&sets, false}, "set", "key=value overrides (repeatable)")
	fl.Var(orderedSets{&sets, true}, "set-string", "key=value overrides kept as strings (repeatable)")
	fl.Var(&apiVersions, "api-versions", "extra API versions for .Capabilities.APIVersions")

	var positional []string
	for {
		if err := fl.Parse(args); err != nil {
			return err
		}
		if fl.NArg() == 0 {
			break
		}
		positional = append(positional, fl.Arg(0))
		args = fl.Args()[1:]
	}
	if len(positional) != 1 {
		return fmt.Errorf("expected exactly one chart directory, got %d", len(positional))
	}
	m := kubeVersionPattern.FindStringSubmatch(*kubeVer)
	if m == nil {
		return fmt.Errorf("--kube-version %q: expected vMAJOR.MINOR.PATCH", *kubeVer)
	}

	c, err := loadChart(positional[0])
	if err != nil {
		return err
	}
	kube := "v" + m[1] + "." + m[2] + "." + m[3]
	if err := checkKubeVersion(c, kube); err != nil {
		return err
	}
	values := c.values
	for _, file := range valueFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		user, err := readValues(data)
		if err != nil {
			return fmt.Errorf("%s: %v", file, err)
		}
		values = mergeValues(values, user)
	}
	for _, s := range sets {
		if err := applySet(values, s.arg, s.asString); err != nil {
			return err
		}
	}
	if *printValues {
		out, err := json.MarshalIndent(values, "", "  ")
		if err != nil {
			return err
		}
		fmt.Println(string(out))
		return nil
	}

	rel := release{Name: *name, Namespace: *namespace, Service: "Helm", IsInstall: !*isUpgrade, IsUpgrade: *isUpgrade, Revision: 1}
	caps := capabilities{
		KubeVersion: kubeVersion{Version: kube, Major: m[1], Minor: m[2], GitVersion: kube},
		APIVersions: append(versionSet{"v1", "apps/v1", "batch/v1", "policy/v1", "rbac.authorization.k8s.io/v1", "admissionregistration.k8s.io/v1"}, apiVersions...),
	}
	manifests, notes, err := render(c, values, rel, caps)
	if err != nil {
		return err
	}
	if *notesOnly {
		fmt.Print(notes)
		return nil
	}
	fmt.Print(manifestStream(manifests))
	return nil
}

// checkKubeVersion refuses, as Helm does, a Kubernetes version outside Chart.yaml's kubeVersion.
func checkKubeVersion(c *chart, kube string) error {
	constraint, _ := c.metadata["KubeVersion"].(string)
	if constraint == "" {
		return nil
	}
	r, err := semver.NewConstraint(constraint)
	if err != nil {
		return fmt.Errorf("Chart.yaml kubeVersion %q: %v", constraint, err)
	}
	v, err := semver.NewVersion(kube)
	if err != nil {
		return err
	}
	if !r.Check(v) {
		return fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", constraint, kube)
	}
	return nil
}
