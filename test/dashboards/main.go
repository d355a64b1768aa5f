// dashboard-check: each Grafana dashboard given is unmarshalled strictly (no unknown field, no
// missing required one, every panel's options and every query checked against its plugin's
// schema) and validated with the Apache-licensed grafana-foundation-sdk, then checked for what
// the schema cannot say: every panel has a Prometheus query on the ${datasource} variable, panel
// ids are unique, and every $variable a query uses is defined. Prints one line per dashboard.
//
//	go run . charts/ringkeeper/files/dashboards/*.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// Grafana's own variables, defined by Grafana rather than the dashboard.
var builtins = map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}

var variableRef = regexp.MustCompile(`\$\{?(\w+)`)

// The SDK returns its error list as an error even when the list is empty.
func failed(err error) bool {
	if errs, ok := err.(cog.BuildErrors); ok {
		return len(errs) > 0
	}
	return err != nil
}

func check(path string) (panels, queries int, problems []string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, []string{err.Error()}
	}
	var d dashboard.Dashboard
	if err := d.UnmarshalJSONStrict(raw); failed(err) {
		return 0, 0, []string{"strict schema: " + err.Error()}
	}
	if err := d.Validate(); failed(err) {
		problems = append(problems, "validate: "+err.Error())
	}
	defined := map[string]bool{}
	for _, v := range d.Templating.List {
		defined[v.Name] = true
	}
	if !defined["datasource"] {
		problems = append(problems, "no datasource variable")
	}
	// The panels once more, one by one: the SDK's PanelOrRowPanel checks a panel strictly but
	// keeps it only when its (typed, empty) error list is nil, which it never is.
	var raws struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(raw, &raws); err != nil {
		return 0, 0, []string{err.Error()}
	}
	ids := map[uint32]bool{}
	for i, r := range raws.Panels {
		var kind struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(r, &kind); err != nil || kind.Type == "row" {
			continue
		}
		var p dashboard.Panel
		if err := p.UnmarshalJSONStrict(r); failed(err) {
			problems = append(problems, fmt.Sprintf("panels[%d]: %v", i, err))
			continue
		}
		// The same for the panel's queries (kept by the panel under the same condition).
		var rawTargets struct {
			Targets []json.RawMessage `json:"targets"`
		}
		if err := json.Unmarshal(r, &rawTargets); err != nil {
			return 0, 0, []string{err.Error()}
		}
		var targets []*prometheus.Dataquery
		for j, t := range rawTargets.Targets {
			q := &prometheus.Dataquery{}
			if err := q.UnmarshalJSONStrict(t); failed(err) {
				problems = append(problems, fmt.Sprintf("panels[%d].targets[%d]: %v", i, j, err))
				continue
			}
			targets = append(targets, q)
		}
		panels++
		title := ""
		if p.Title != nil {
			title = *p.Title
		}
		if p.Id == nil || ids[*p.Id] {
			problems = append(problems, fmt.Sprintf("panel %q: missing or repeated id", title))
		} else {
			ids[*p.Id] = true
		}
		if p.GridPos == nil {
			problems = append(problems, fmt.Sprintf("panel %q: no gridPos", title))
		}
		if len(targets) == 0 {
			problems = append(problems, fmt.Sprintf("panel %q: no query", title))
		}
		for _, q := range targets {
			queries++
			if q.Datasource == nil || q.Datasource.Uid == nil || *q.Datasource.Uid != "${datasource}" {
				problems = append(problems, fmt.Sprintf("panel %q: query not on ${datasource}", title))
			}
			for _, m := range variableRef.FindAllStringSubmatch(q.Expr, -1) {
				if !defined[m[1]] && !builtins[m[1]] {
					problems = append(problems, fmt.Sprintf("panel %q: undefined variable $%s", title, m[1]))
				}
			}
		}
	}
	return panels, queries, problems
}

func main() {
	plugins.RegisterDefaultPlugins()
	files := os.Args[1:]
	sort.Strings(files)
	failed := false
	total := map[string]int{}
	for _, f := range files {
		panels, queries, problems := check(f)
		total["panels"] += panels
		total["queries"] += queries
		status := "ok"
		if len(problems) > 0 {
			status = "FAILED"
			failed = true
		}
		fmt.Printf("%-60s %3d panels %3d queries  %s\n", f, panels, queries, status)
		for _, p := range problems {
			fmt.Printf("    %s\n", p)
		}
	}
	out, _ := json.Marshal(total)
	fmt.Printf("%d dashboards: %s\n", len(files), out)
	if failed || len(files) == 0 {
		os.Exit(1)
	}
}
