package api

import (
	"context"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aalscert/aalscert/models"
)

type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry, db *models.DB, now func() time.Time) *metrics {
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aals_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aals_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		reg.MustRegister(&poolCollector{db: db}, &jobCollector{db: db}, &opsCollector{db: db, now: now})
	}
	return m
}

func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status)).Inc()
		m.latency.WithLabelValues(route, c.Request().Method).Observe(time.Since(start).Seconds())
		return nil
	}
}

func (m *metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}

var (
	poolConnsDesc = prometheus.NewDesc("aals_db_pool_connections", "Database pool connections by state.", []string{"state"}, nil)
	poolMaxDesc   = prometheus.NewDesc("aals_db_pool_max_connections", "Database pool size limit.", nil, nil)
	poolWaitDesc  = prometheus.NewDesc("aals_db_pool_acquire_wait_seconds_total", "Time spent waiting for a connection.", nil, nil)
	jobsDesc      = prometheus.NewDesc("aals_jobs", "Background jobs by state.", []string{"state"}, nil)
	jobsDiscDesc  = prometheus.NewDesc("aals_jobs_discarded", "Background jobs that failed for good.", nil, nil)
	scanDesc      = prometheus.NewDesc("aals_reminder_scan_last_success_timestamp_seconds",
		"Unix time the last reminder scan finished; 0 if none ever did. Alert when it is over a few hours old.", nil, nil)
	listAgeDesc = prometheus.NewDesc("aals_status_list_age_seconds",
		"Seconds since the status list last changed (a credential on it revoked, suspended or reinstated, or the list created); the list's signed validFrom is that time.",
		[]string{"list", "purpose"}, nil)
)

// poolCollector reports the shared pgx pool.
type poolCollector struct{ db *models.DB }

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolConnsDesc
	ch <- poolMaxDesc
	ch <- poolWaitDesc
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := p.db.Pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(st.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(st.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolWaitDesc, prometheus.CounterValue, st.AcquireDuration().Seconds())
}

// jobCollector reports River's job counts at scrape time.
type jobCollector struct{ db *models.DB }

func (j *jobCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- jobsDiscDesc
}

func (j *jobCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := models.CountJobsByState(ctx, j.db)
	if err != nil {
		return
	}
	for _, st := range models.JobStates {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(counts[st]), st)
	}
	ch <- prometheus.MustNewConstMetric(jobsDiscDesc, prometheus.GaugeValue, float64(counts["discarded"]))
}

// opsCollector reports, at scrape time, what operators alert on besides the job counts: the
// last reminder scan and the age of each status list.
type opsCollector struct {
	db  *models.DB
	now func() time.Time
}

func (o *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- scanDesc
	ch <- listAgeDesc
}

func (o *opsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := models.ReadOperationalState(ctx, o.db)
	if err != nil {
		return
	}
	last := 0.0
	if st.LastReminderScan != nil {
		last = float64(st.LastReminderScan.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(scanDesc, prometheus.GaugeValue, last)
	now := o.now()
	for _, l := range st.StatusLists {
		ch <- prometheus.MustNewConstMetric(listAgeDesc, prometheus.GaugeValue, now.Sub(l.ChangedAt).Seconds(), strconv.Itoa(l.ID), l.Purpose)
	}
}
