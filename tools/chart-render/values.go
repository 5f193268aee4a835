// Values handling as Helm does it: YAML read through JSON (numbers become float64, as with
// sigs.k8s.io/yaml), user values deep-merged over the chart's defaults (null deletes a key),
// and --set / --set-string overrides.
package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v2"
)

// yamlToJSONValue parses one YAML document and returns it in the JSON data model.
func yamlToJSONValue(data []byte) (interface{}, error) {
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	plain, err := stringKeys(raw)
	if err != nil {
		return nil, err
	}
	encoded, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	var out interface{}
	if err := json.Unmarshal(encoded, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// readValues parses a values document; an empty document is an empty map.
func readValues(data []byte) (map[string]interface{}, error) {
	v, err := yamlToJSONValue(data)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return map[string]interface{}{}, nil
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("expected a mapping at the top level, got %T", v)
	}
	return m, nil
}

func stringKeys(v interface{}) (interface{}, error) {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, val := range t {
			ks, ok := k.(string)
			if !ok {
				ks = fmt.Sprint(k)
			}
			conv, err := stringKeys(val)
			if err != nil {
				return nil, err
			}
			out[ks] = conv
		}
		return out, nil
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, val := range t {
			conv, err := stringKeys(val)
			if err != nil {
				return nil, err
			}
			out[i] = conv
		}
		return out, nil
	default:
		return v, nil
	}
}

// mergeValues lays src over dst: maps merge recursively, anything else replaces, and an
// explicit null removes the key (Helm's way to unset a default).
func mergeValues(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		srcMap, srcIsMap := v.(map[string]interface{})
		dstMap, dstIsMap := dst[k].(map[string]interface{})
		if srcIsMap && dstIsMap {
			dst[k] = mergeValues(dstMap, srcMap)
		} else {
			dst[k] = v
		}
	}
	return dst
}

// applySet applies one --set argument: comma-separated key=value pairs with dotted keys
// (`\.` is a literal dot). Values are typed like Helm's strvals unless asString: integers,
// true/false and null; everything else is a string. List indices are not supported.
func applySet(values map[string]interface{}, arg string, asString bool) error {
	for _, pair := range splitUnescaped(arg, ',') {
		eq := strings.IndexByte(pair, '=')
		if eq <= 0 {
			return fmt.Errorf("--set %q: expected key=value", pair)
		}
		key, raw := pair[:eq], pair[eq+1:]
		if strings.ContainsAny(key, "[]") {
			return fmt.Errorf("--set %q: list indices are not supported; use a values file", pair)
		}
		path := splitUnescaped(key, '.')
		for i, p := range path {
			path[i] = strings.ReplaceAll(p, `\.`, ".")
			if path[i] == "" {
				return fmt.Errorf("--set %q: empty key segment", pair)
			}
		}
		raw = strings.ReplaceAll(raw, `\,`, ",")
		var value interface{} = raw
		if !asString {
			value = typedValue(raw)
		}
		node := values
		for _, p := range path[:len(path)-1] {
			next, ok := node[p].(map[string]interface{})
			if !ok {
				next = map[string]interface{}{}
				node[p] = next
			}
			node = next
		}
		last := path[len(path)-1]
		if value == nil {
			delete(node, last)
		} else {
			node[last] = value
		}
	}
	return nil
}

func typedValue(raw string) interface{} {
	switch raw {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	// Helm keeps a leading zero as a string ("0755").
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil && (raw == "0" || !strings.HasPrefix(raw, "0")) {
		return n
	}
	return raw
}

func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}
