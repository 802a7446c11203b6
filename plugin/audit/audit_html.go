package audit

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"sync"
	"time"
)

// auditHTML streams `audit --html FILE`: one self-contained page (inline
// style and script, no external assets). Each repository's section is
// written as soon as it is audited; the summary table and the expiry
// timeline come last in the file and are shown first (CSS order), so that
// only one row per repository and its expiries are kept until the end.
type auditHTML struct {
	out      io.Writer
	opts     AuditOptions
	now      time.Time
	window   time.Duration
	started  bool
	rows     []auditRow
	expiries []repoExpiry
}

func newAuditHTML(out io.Writer, opts AuditOptions, now time.Time, window time.Duration) *auditHTML {
	return &auditHTML{out: out, opts: opts, now: now, window: window}
}

func (h *auditHTML) begin() error {
	if h.started {
		return nil
	}
	h.started = true
	return auditPage().ExecuteTemplate(h.out, "head", map[string]any{
		"Registries": h.opts.Targets, "Generated": h.now.UTC().Format(time.RFC3339), "Window": h.opts.ExpiringWithin,
	})
}

func (h *auditHTML) repository(r AuditRepo) error {
	if err := h.begin(); err != nil {
		return err
	}
	h.rows = append(h.rows, rowOf(r))
	for _, e := range r.Expiries {
		h.expiries = append(h.expiries, repoExpiry{Repository: r.Name, Role: e.Role, Expires: e.Expires})
	}
	return auditPage().ExecuteTemplate(h.out, "repo", map[string]any{"R": r, "ID": len(h.rows), "Now": h.now, "Window": h.window, "Verified": h.opts.notationDir != ""})
}

// timelineMonth is one bar of the expiry timeline: the roles expiring in
// one month, placed on a time axis.
type timelineMonth struct {
	Label   string
	Count   int
	Soon    bool
	Expired bool
	first   time.Time
	X, Y, H int // position on the chart (SVG user units)
}

// timelineTick is a year on the time axis.
type timelineTick struct {
	X     int
	Label string
}

// The expiry chart's geometry, in SVG user units.
const (
	chartLeft, chartRight = 40, 980
	chartBase, chartTop   = 130, 20
)

func (h *auditHTML) finish(sum AuditSummary) error {
	if err := h.begin(); err != nil {
		return err
	}
	sort.Slice(h.expiries, func(i, j int) bool { return h.expiries[i].Expires.Before(h.expiries[j].Expires) })
	var months []*timelineMonth
	byLabel := map[string]*timelineMonth{}
	limit := h.now.Add(h.window)
	maxCount := 0
	for _, e := range h.expiries {
		label := e.Expires.UTC().Format("2006-01")
		m := byLabel[label]
		if m == nil {
			m = &timelineMonth{Label: label, first: e.Expires}
			byLabel[label] = m
			months = append(months, m)
		}
		m.Count++
		m.Soon = m.Soon || e.Expires.Before(limit)
		m.Expired = m.Expired || e.Expires.Before(h.now)
		maxCount = max(maxCount, m.Count)
	}
	// A time axis from today (or the first expiry, if earlier) to the last.
	start, end := h.now, h.now.Add(365*24*time.Hour)
	if len(h.expiries) > 0 {
		if first := h.expiries[0].Expires; first.Before(start) {
			start = first
		}
		if last := h.expiries[len(h.expiries)-1].Expires; last.After(end) {
			end = last
		}
	}
	x := func(t time.Time) int {
		return chartLeft + int(float64(chartRight-chartLeft)*float64(t.Sub(start))/float64(end.Sub(start)))
	}
	for _, m := range months {
		m.X = x(m.first)
		m.H = max(3, m.Count*(chartBase-chartTop)/max(1, maxCount))
		m.Y = chartBase - m.H
	}
	var ticks []timelineTick
	years := end.Year() - start.Year()
	step := max(1, (years+11)/12)
	for y := start.Year() + 1; y <= end.Year(); y += step {
		ticks = append(ticks, timelineTick{X: x(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)), Label: fmt.Sprint(y)})
	}
	windowEnd := limit
	if windowEnd.After(end) {
		windowEnd = end
	}
	return auditPage().ExecuteTemplate(h.out, "tail", map[string]any{
		"Sum": sum, "Rows": h.rows, "Months": months, "Window": h.opts.ExpiringWithin,
		"Ticks": ticks, "NowX": x(h.now), "WindowW": max(2, x(windowEnd)-x(h.now)),
		"Soonest": firstExpiries(h.expiries, 50), "More": max(0, len(h.expiries)-50), "Now": h.now,
	})
}

func firstExpiries(e []repoExpiry, n int) []repoExpiry {
	if len(e) > n {
		return e[:n]
	}
	return e
}

// auditPage is parsed on first use, not at start-up: every command, and
// the docker CLI's metadata call, would otherwise pay for parsing it.
var auditPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("audit").Funcs(auditFuncs).Parse(auditPageText))
})

var auditFuncs = template.FuncMap{
	"date":   func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"before": func(a, b time.Time) bool { return a.Before(b) },
	"add":    func(t time.Time, d time.Duration) time.Time { return t.Add(d) },
	"days":   func(t, now time.Time) int { return int(t.Sub(now).Hours() / 24) },
	"add1":   func(i int) int { return i + 1 },
	"yesno": func(b *bool) string {
		switch {
		case b == nil:
			return "-"
		case *b:
			return "yes"
		}
		return "no"
	},
}

const auditPageText = `{{define "head"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Content trust audit{{range .Registries}} {{.}}{{end}}</title>
<script>window.addEventListener("error", function (e) { document.documentElement.setAttribute("data-script-error", String(e.message)); });</script>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
main{display:flex;flex-direction:column;gap:16px;padding:16px 24px;max-width:1200px;margin:auto}
header{order:0} #summary{order:1} #timeline{order:2} #repositories-head{order:3} section.repo{order:4}
h1{font-size:1.5em;margin:8px 0} h2{font-size:1.2em;margin:4px 0} h3{font-size:1em;margin:4px 0;word-break:break-all}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{cursor:pointer;user-select:none;background:#f6f8fa;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \25B2"} th[aria-sort=descending]::after{content:" \25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:.85em;word-break:break-all}
.signed{color:#1a7f37}.unsigned{color:#9a6700}.drifted,.missing,.error,.expired{color:#cf222e;font-weight:600}.expiring{color:#bc4c00;font-weight:600}
.stats{display:flex;flex-wrap:wrap;gap:24px}.stats div{font-size:.9em}.stats b{display:block;font-size:1.6em}
svg.timeline{width:100%;height:auto;font-size:11px}
svg.timeline .axis,svg.timeline .tick{stroke:#8c959f}svg.timeline text{fill:#57606a}
svg.timeline .window{fill:#fff1e5}svg.timeline .now{stroke:#1b1f24;stroke-dasharray:3 3}
.progress{display:inline-block;width:80px;height:8px;background:#eaeef2;border-radius:4px;vertical-align:middle;margin-right:6px}.progress span{display:block;height:8px;background:#1a7f37;border-radius:4px}
.notation-verified,.notation-signed{color:#1a7f37}.notation-missing{color:#9a6700}.notation-invalid{color:#cf222e;font-weight:600}
svg.timeline .bar{fill:#54aeff}svg.timeline .bar.soon{fill:#fb8f44}svg.timeline .bar.expired{fill:#cf222e}
</style>
</head>
<body>
<main>
<header><h1>Content trust audit</h1>
<div>Registries: {{range $i, $r := .Registries}}{{if $i}}, {{end}}<code>{{$r}}</code>{{else}}from a list of repositories{{end}}. Generated {{.Generated}}. Expiring means within {{.Window}}.</div></header>
<h2 id="repositories-head">Repositories</h2>
{{end}}

{{define "repo"}}<section class="repo card" id="repo-{{.ID}}" data-repository="{{.R.Name}}">
<h3>{{.R.Name}}</h3>
{{if .R.Error}}<p class="error">{{.R.Error}}</p>{{else}}
<p>{{if not .R.TrustData}}No trust data. {{end}}<span class="signed">{{.R.Signed}} signed</span>, <span class="{{if .R.Unsigned}}unsigned{{end}}">{{.R.Unsigned}} unsigned</span>, <span class="{{if .R.Drifted}}drifted{{end}}">{{.R.Drifted}} drifted</span>, <span class="{{if .R.Missing}}missing{{end}}">{{.R.Missing}} missing</span>.
{{with .R.EarliestExpiry}}Earliest expiry: {{.Role}} on {{date .Expires}}.{{end}}</p>
{{if .R.Expiries}}<table class="sortable expiries"><thead><tr><th>Role</th><th>Expires</th><th>Days left</th></tr></thead><tbody>
{{range .R.Expiries}}<tr class="{{if before .Expires $.Now}}expired{{else if before .Expires (add $.Now $.Window)}}expiring{{end}}"><td>{{.Role}}</td><td data-sort="{{iso .Expires}}"><time datetime="{{iso .Expires}}">{{date .Expires}}</time></td><td class="num">{{days .Expires $.Now}}</td></tr>
{{end}}</tbody></table>{{end}}
{{with .R.Notation}}<p>Notation: {{.NotationSigned}} tags signed{{if $.Verified}} ({{.NotationVerified}} verified, {{.NotationInvalid}} invalid){{end}}, {{.NotationMissing}} without; {{.CoversDCT}} tags signed with content trust covered on the same digest.</p>{{end}}
<table class="sortable tags"><thead><tr><th>Tag</th><th>Status</th><th>Signed digest</th><th>Registry digest</th>{{if .R.Notation}}<th>Notation</th><th>Covers DCT</th>{{end}}</tr></thead><tbody>
{{range .R.Tags}}<tr><td>{{.Tag}}</td><td class="{{.Status}}">{{.Status}}</td><td><code>{{or .SignedDigest "-"}}</code></td><td><code>{{or .RegistryDigest "-"}}</code></td>{{if $.R.Notation}}<td class="notation-{{.Notation}}" title="{{.NotationProblem}}">{{or .Notation "-"}}</td><td>{{yesno .CoversDCT}}</td>{{end}}</tr>
{{end}}</tbody></table>{{end}}
</section>
{{end}}

{{define "tail"}}<section id="summary" class="card"><h2>Summary</h2>
<div class="stats">
<div><b>{{.Sum.Repositories}}</b>repositories{{if not .Sum.Complete}} (interrupted: {{.Sum.Listed}} listed){{end}}</div>
<div><b>{{.Sum.WithTrustData}}</b>with trust data</div>
<div class="signed"><b>{{.Sum.SignedTags}}</b>signed tags</div>
<div class="unsigned"><b>{{.Sum.UnsignedTags}}</b>unsigned tags</div>
<div class="drifted"><b>{{.Sum.DriftedTags}}</b>drifted tags</div>
<div class="missing"><b>{{.Sum.MissingTags}}</b>missing images</div>
<div class="expiring"><b>{{.Sum.Expiring}}</b>expiring within {{.Window}}</div>
{{if .Sum.Errors}}<div class="error"><b>{{.Sum.Errors}}</b>could not be audited</div>{{end}}
{{with .Sum.Notation}}<div class="notation-signed"><b>{{.NotationSigned}}</b>tags signed with Notation</div>{{if $.Sum.NotationVerified}}<div class="notation-verified"><b>{{.NotationVerified}}</b>verified</div><div class="notation-invalid"><b>{{.NotationInvalid}}</b>invalid</div>{{end}}<div class="notation-missing"><b>{{.NotationMissing}}</b>without Notation</div><div><b>{{.CoversDCT}}</b>content trust tags covered</div>{{end}}
</div>
{{range .Sum.Violations}}<p class="error">Policy: {{.}}</p>{{end}}
{{if .Sum.Refresh}}<p>To re-sign what expires: <code>{{.Sum.Refresh}}</code></p>{{end}}
<table class="sortable" id="overview"><thead><tr><th>Repository</th><th>Pinned</th><th>Signed</th><th>Unsigned</th><th>Drifted</th><th>Missing</th><th>Earliest expiry</th><th>Role</th>{{if .Sum.Notation}}<th>Moved to Notation</th><th>Covers DCT</th>{{end}}</tr></thead><tbody>
{{range $i, $r := .Rows}}<tr data-repository="{{$r.Name}}"><td><a href="#repo-{{add1 $i}}">{{$r.Name}}</a>{{if $r.Error}} <span class="error">error</span>{{else if not $r.TrustData}} <small>no trust data</small>{{end}}</td><td>{{if $r.Pinned}}<span title="{{$r.Pinned}}">yes</span>{{else}}no{{end}}</td><td class="num">{{$r.Signed}}</td><td class="num">{{$r.Unsigned}}</td><td class="num{{if $r.Drifted}} drifted{{end}}">{{$r.Drifted}}</td><td class="num{{if $r.Missing}} missing{{end}}">{{$r.Missing}}</td>{{with $r.Earliest}}<td data-sort="{{iso .Expires}}" class="{{if $r.Expiring}}expiring{{end}}">{{date .Expires}}</td><td>{{.Role}}</td>{{else}}<td data-sort="9999">-</td><td></td>{{end}}{{if $.Sum.Notation}}{{$p := $r.NotationPercent $.Sum.NotationVerified}}<td data-sort="{{$p}}" class="moved"><span class="progress"><span style="width:{{$p}}%"></span></span>{{$p}}%</td><td class="num">{{with $r.Notation}}{{.CoversDCT}}{{end}}/{{$r.DCTSigned}}</td>{{end}}</tr>
{{end}}</tbody></table>
</section>
<section id="timeline" class="card"><h2>Expiry timeline</h2>
{{if .Months}}<p>Trust metadata (root, targets and delegations) expiring per month; orange: within {{.Window}}, red: expired.</p>
<svg class="timeline" viewBox="0 0 1000 170" role="img" aria-label="Trust metadata expiring per month, on a time axis">
<rect class="window" x="{{.NowX}}" y="10" width="{{.WindowW}}" height="120"><title>within {{.Window}}</title></rect>
<line class="axis" x1="40" y1="130" x2="980" y2="130"/>
{{range .Ticks}}<line class="tick" x1="{{.X}}" y1="130" x2="{{.X}}" y2="136"/><text x="{{.X}}" y="150" text-anchor="middle">{{.Label}}</text>
{{end}}<line class="now" x1="{{.NowX}}" y1="10" x2="{{.NowX}}" y2="130"/><text x="{{.NowX}}" y="166" text-anchor="middle">today</text>
{{range .Months}}<rect class="bar{{if .Expired}} expired{{else if .Soon}} soon{{end}}" data-month="{{.Label}}" data-count="{{.Count}}" x="{{.X}}" y="{{.Y}}" width="8" height="{{.H}}"><title>{{.Label}}: {{.Count}} expiring</title></rect><text x="{{.X}}" y="{{.Y}}" dy="-3">{{.Count}}</text>
{{end}}</svg>
<h3>What expires first</h3>
<table class="sortable" id="soonest"><thead><tr><th>Expires</th><th>Days left</th><th>Repository</th><th>Role</th></tr></thead><tbody>
{{range .Soonest}}<tr class="{{if before .Expires $.Now}}expired{{end}}"><td data-sort="{{iso .Expires}}"><time datetime="{{iso .Expires}}">{{date .Expires}}</time></td><td class="num">{{days .Expires $.Now}}</td><td>{{.Repository}}</td><td>{{.Role}}</td></tr>
{{end}}</tbody></table>{{if .More}}<p>and {{.More}} more, in each repository's table below.</p>{{end}}
{{else}}<p>No trust metadata found.</p>{{end}}
</section>
</main>
<script>
"use strict";
(function () {
  function key(td) {
    var v = td.getAttribute("data-sort");
    if (v === null) { v = td.textContent.trim(); }
    var n = Number(v);
    return (v !== "" && !isNaN(n)) ? n : v.toLowerCase();
  }
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
  document.documentElement.setAttribute("data-ready", "true");
})();
</script>
</body>
</html>
{{end}}`
