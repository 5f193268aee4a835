// Loading a chart directory the way Helm's loader does: Chart.yaml metadata, default values,
// the templates, and every other file for .Files.
package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type chart struct {
	name      string
	metadata  map[string]interface{}
	values    map[string]interface{}
	templates map[string]string // "<chart>/templates/<path>" → source
	files     files
}

// files is .Files: the chart's non-template files by slash path.
type files map[string][]byte

func (f files) Get(name string) string { return string(f[name]) }

func (f files) GetBytes(name string) []byte { return f[name] }

func (f files) Lines(name string) []string {
	s := strings.TrimSuffix(string(f[name]), "\n")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

func loadChart(dir string) (*chart, error) {
	meta, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	rawMeta, err := readValues(meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, "Chart.yaml"), err)
	}
	name, _ := rawMeta["name"].(string)
	if name == "" {
		return nil, fmt.Errorf("%s: name is required", filepath.Join(dir, "Chart.yaml"))
	}
	// .Chart exposes Chart.yaml with Go field names (name → Name, appVersion → AppVersion).
	metadata := map[string]interface{}{}
	for k, v := range rawMeta {
		metadata[strings.ToUpper(k[:1])+k[1:]] = v
	}
	if metadata["APIVersion"] == nil {
		metadata["APIVersion"] = metadata["ApiVersion"]
	}
	values := map[string]interface{}{}
	if data, err := os.ReadFile(filepath.Join(dir, "values.yaml")); err == nil {
		if values, err = readValues(data); err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Join(dir, "values.yaml"), err)
		}
	}
	c := &chart{name: name, metadata: metadata, values: values, templates: map[string]string{}, files: files{}}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(rel, "templates/"):
			c.templates[name+"/"+rel] = string(data)
		case rel == "Chart.yaml" || rel == "values.yaml" || rel == "values.schema.json" || rel == ".helmignore":
		default:
			c.files[rel] = data
		}
		return nil
	})
	return c, err
}

func (c *chart) templateNames() []string {
	names := make([]string, 0, len(c.templates))
	for n := range c.templates {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
