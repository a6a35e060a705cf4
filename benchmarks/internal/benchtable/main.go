// Command benchtable turns the output of the benchmarks module's go test -bench
// run into the Markdown table of ratios in benchmarks/README.md.
//
// Each workload is a top-level benchmark with one sub-benchmark per
// implementation, named impl=NAME; impl=distkit and impl=distkit-VARIANT are
// ours. For every workload and GOMAXPROCS the others are compared with
// impl=distkit, or with our fastest variant where there is no plain one: the
// table gives the other's median time per operation divided by ours (above 1
// means ours is faster) and both allocation counts.
// Workloads that report other metrics (IDs per second, latency percentiles)
// get a second table with the medians of those metrics.
//
// Usage:
//
//	go run ./internal/benchtable -in results.txt -readme README.md
//
// rewrites the part of README.md between the markers
// <!-- benchtable:begin --> and <!-- benchtable:end -->.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

const (
	ours        = "distkit"
	beginMarker = "<!-- benchtable:begin -->"
	endMarker   = "<!-- benchtable:end -->"
)

func main() {
	in := flag.String("in", "results.txt", "go test -bench output to read")
	readme := flag.String("readme", "", "README to rewrite between the markers; empty prints the table")
	flag.Parse()
	if err := run(*in, *readme); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(in, readme string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	rs, err := parse(f)
	if err != nil {
		return err
	}
	table := render(rs)
	if readme == "" {
		fmt.Print(table)
		return nil
	}
	old, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	i, j := bytes.Index(old, []byte(beginMarker)), bytes.Index(old, []byte(endMarker))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s ... %s markers", readme, beginMarker, endMarker)
	}
	var out bytes.Buffer
	out.Write(old[:i+len(beginMarker)])
	out.WriteString("\n")
	out.WriteString(table)
	out.Write(old[j:])
	return os.WriteFile(readme, out.Bytes(), 0o644)
}

// A key names one cell group: a workload at one GOMAXPROCS for one impl.
type key struct {
	workload string
	procs    int
	impl     string
}

// results maps a key to every value of every unit seen for it.
type results struct {
	order []key
	vals  map[key]map[string][]float64
	units []string // custom units in order of appearance
}

var lineRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-(\d+))?\s+\d+\s+(.*)$`)

func parse(r io.Reader) (*results, error) {
	rs := &results{vals: map[key]map[string][]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name, procs := m[1], 1
		if m[2] != "" {
			procs, _ = strconv.Atoi(m[2])
		}
		impl := ""
		var rest []string
		for _, part := range strings.Split(strings.TrimPrefix(name, "Benchmark"), "/") {
			if v, ok := strings.CutPrefix(part, "impl="); ok {
				impl = v
				continue
			}
			rest = append(rest, part)
		}
		if impl == "" {
			continue
		}
		k := key{strings.Join(rest, "/"), procs, impl}
		if rs.vals[k] == nil {
			rs.vals[k] = map[string][]float64{}
			rs.order = append(rs.order, k)
		}
		fields := strings.Fields(m[3])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			unit := fields[i+1]
			rs.vals[k][unit] = append(rs.vals[k][unit], v)
			if unit != "ns/op" && unit != "B/op" && unit != "allocs/op" && !slices.Contains(rs.units, unit) {
				rs.units = append(rs.units, unit)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rs.order) == 0 {
		return nil, errors.New("no impl=NAME benchmark results in the input")
	}
	return rs, nil
}

func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Clone(vs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

func render(rs *results) string {
	var b strings.Builder
	b.WriteString("| workload | -cpu | ours | other | other's time ÷ ours | allocs/op ours | allocs/op other |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, k := range rs.order {
		base, ok := rs.base(k.workload, k.procs)
		if !ok || k.impl == base {
			continue
		}
		bk := key{k.workload, k.procs, base}
		other, ok1 := median(rs.vals[k]["ns/op"])
		mine, ok2 := median(rs.vals[bk]["ns/op"])
		if !ok1 || !ok2 || mine == 0 {
			continue
		}
		name := k.impl
		if isOurs(name) {
			name += " (ours)"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", k.workload, k.procs, base, name,
			ratio(other/mine), count(rs.vals[bk]["allocs/op"]), count(rs.vals[k]["allocs/op"]))
	}
	if len(rs.units) > 0 {
		b.WriteString("\nOther metrics the benchmarks report (medians):\n\n")
		b.WriteString("| workload | -cpu | impl | metrics |\n|---|---|---|---|\n")
		for _, k := range rs.order {
			var cells []string
			for _, u := range rs.units {
				if v, ok := median(rs.vals[k][u]); ok {
					cells = append(cells, strconv.FormatFloat(v, 'g', 4, 64)+" "+u)
				}
			}
			if len(cells) > 0 {
				fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", k.workload, k.procs, k.impl, strings.Join(cells, ", "))
			}
		}
	}
	return b.String()
}

// isOurs reports whether impl names one of distkit's implementations:
// "distkit" or a variant such as "distkit-unsync".
func isOurs(impl string) bool { return impl == ours || strings.HasPrefix(impl, ours+"-") }

// base returns the implementation the others in a workload are compared
// with: "distkit" if it ran, else the fastest distkit variant.
func (rs *results) base(workload string, procs int) (string, bool) {
	best, bestT := "", 0.0
	for _, k := range rs.order {
		if k.workload != workload || k.procs != procs || !isOurs(k.impl) {
			continue
		}
		t, ok := median(rs.vals[k]["ns/op"])
		if !ok {
			continue
		}
		if k.impl == ours {
			return ours, true
		}
		if best == "" || t < bestT {
			best, bestT = k.impl, t
		}
	}
	return best, best != ""
}

func ratio(r float64) string { return strconv.FormatFloat(r, 'f', 2, 64) + "×" }

func count(vs []float64) string {
	v, ok := median(vs)
	if !ok {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
