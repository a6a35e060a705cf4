// Command benchtable turns the output of the benchmarks module's go test -bench
// run into the Markdown table of ratios in benchmarks/README.md.
//
// Each workload is a top-level benchmark with one sub-benchmark per
// implementation, named impl=NAME; impl=distkit and impl=distkit-VARIANT are
// ours. For every workload and GOMAXPROCS the others are compared with
// impl=distkit, or with our fastest variant where there is no plain one: the
// table gives the other's median time per operation divided by ours (above 1
// means ours is faster) and both allocation counts.
// A workload that times the implementations in alternation instead reports
// each one's time as a NAME-ns/op metric, which counts as impl=NAME.
// Workloads that report other metrics (IDs per second, latency percentiles)
// get a second table with the medians of those metrics.
//
// Usage:
//
//	go run ./internal/benchtable -in results.txt -readme README.md -summary ../README.md
//
// rewrites the part of README.md between the markers
// <!-- benchtable:begin --> and <!-- benchtable:end -->, and the part of
// ../README.md between <!-- benchsummary:begin --> and
// <!-- benchsummary:end --> with a summary: one row per workload, each other
// library's ratio at -cpu 1 and 2.
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
	sumBegin    = "<!-- benchsummary:begin -->"
	sumEnd      = "<!-- benchsummary:end -->"
)

func main() {
	in := flag.String("in", "results.txt", "go test -bench output to read")
	readme := flag.String("readme", "", "README to rewrite between the markers; empty prints the table")
	summary := flag.String("summary", "", "README to rewrite between the summary markers; empty skips it")
	flag.Parse()
	if err := run(*in, *readme, *summary); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(in, readme, summary string) error {
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
	} else if err := replaceBetween(readme, beginMarker, endMarker, table); err != nil {
		return err
	}
	if summary == "" {
		return nil
	}
	return replaceBetween(summary, sumBegin, sumEnd, renderSummary(rs))
}

// replaceBetween rewrites the text of file between the begin and end markers.
func replaceBetween(file, begin, end, text string) error {
	old, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	i, j := bytes.Index(old, []byte(begin)), bytes.Index(old, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s ... %s markers", file, begin, end)
	}
	var out bytes.Buffer
	out.Write(old[:i+len(begin)])
	out.WriteString("\n")
	out.WriteString(text)
	out.Write(old[j:])
	return os.WriteFile(file, out.Bytes(), 0o644)
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
			rs.addInterleaved(strings.Join(rest, "/"), procs, strings.Fields(m[3]))
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

// addInterleaved records a benchmark that times several implementations in
// alternation and reports each one's time as a NAME-ns/op metric: NAME gets
// a row of its own, as if it had run as impl=NAME (its allocations are not
// known apart, so they are left out).
func (rs *results) addInterleaved(workload string, procs int, fields []string) {
	for i := 0; i+1 < len(fields); i += 2 {
		impl, ok := strings.CutSuffix(fields[i+1], "-ns/op")
		v, err := strconv.ParseFloat(fields[i], 64)
		if !ok || err != nil {
			continue
		}
		k := key{workload, procs, impl}
		if rs.vals[k] == nil {
			rs.vals[k] = map[string][]float64{}
			rs.order = append(rs.order, k)
		}
		rs.vals[k]["ns/op"] = append(rs.vals[k]["ns/op"], v)
	}
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

// renderSummary gives one row per workload: for every other library, its
// time divided by ours at -cpu 1 and at -cpu 2. Our own variants are left
// to the full table.
func renderSummary(rs *results) string {
	var b strings.Builder
	b.WriteString("| workload | other's time ÷ ours, -cpu 1 / 2 |\n|---|---|\n")
	var workloads []string
	peers := map[string][]string{}
	for _, k := range rs.order {
		if !slices.Contains(workloads, k.workload) {
			workloads = append(workloads, k.workload)
		}
		if !isOurs(k.impl) && !slices.Contains(peers[k.workload], k.impl) {
			peers[k.workload] = append(peers[k.workload], k.impl)
		}
	}
	for _, w := range workloads {
		var cells []string
		for _, p := range peers[w] {
			var rr []string
			for _, procs := range []int{1, 2} {
				base, ok := rs.base(w, procs)
				other, ok1 := median(rs.vals[key{w, procs, p}]["ns/op"])
				mine, ok2 := median(rs.vals[key{w, procs, base}]["ns/op"])
				if !ok || !ok1 || !ok2 || mine == 0 {
					rr = append(rr, "–")
					continue
				}
				rr = append(rr, summaryRatio(other/mine))
			}
			if rr[0] != "–" || rr[1] != "–" {
				cells = append(cells, p+" "+strings.Join(rr, " / "))
			}
		}
		if len(cells) > 0 {
			fmt.Fprintf(&b, "| %s | %s |\n", w, strings.Join(cells, ", "))
		}
	}
	return b.String()
}

// summaryRatio formats r with two decimals, and as "<0.01" below that.
func summaryRatio(r float64) string {
	if r < 0.01 {
		return "<0.01"
	}
	return strconv.FormatFloat(r, 'f', 2, 64)
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
