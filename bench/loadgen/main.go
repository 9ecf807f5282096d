// loadgen: an open-loop HTTP load generator for the Lindung benchmarks.
//
// Requests are scheduled at fixed arrival times (rate per second) whatever the server does,
// and each latency is measured from the request's INTENDED send time, so a server that
// stalls cannot hide its tail by slowing the client down (no coordinated omission).
//
// Input: a JSON-lines file, one request per line: {"method","url","headers":{},"body":"..."};
// lines are used round-robin. Output: one JSON object with the latency distribution, status
// counts and errors.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type request struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

type result struct {
	Rate          float64        `json:"target_rate"`
	Duration      float64        `json:"duration_s"`
	Sent          int64          `json:"sent"`
	Completed     int64          `json:"completed"`
	Errors        int64          `json:"errors"`
	Statuses      map[string]int `json:"statuses"`
	AchievedRate  float64        `json:"achieved_rate"`
	P50           float64        `json:"p50_ms"`
	P90           float64        `json:"p90_ms"`
	P95           float64        `json:"p95_ms"`
	P99           float64        `json:"p99_ms"`
	P999          float64        `json:"p999_ms"`
	Max           float64        `json:"max_ms"`
	Mean          float64        `json:"mean_ms"`
	FirstErrors   []string       `json:"first_errors"`
	ResponseBytes int64          `json:"response_bytes"`
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func main() {
	file := flag.String("requests", "", "JSON-lines request file")
	rate := flag.Float64("rate", 1000, "requests per second (open loop)")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	timeout := flag.Duration("timeout", 10*time.Second, "per-request timeout")
	maxInFlight := flag.Int("max-in-flight", 20000, "cap on concurrent requests (protects the machine)")
	offset := flag.Int("offset", 0, "first request line to use")
	flag.Parse()

	f, err := os.Open(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var reqs []request
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		var r request
		if err := json.Unmarshal(scanner.Bytes(), &r); err != nil {
			fmt.Fprintln(os.Stderr, "bad request line:", err)
			os.Exit(2)
		}
		reqs = append(reqs, r)
	}
	if len(reqs) == 0 {
		fmt.Fprintln(os.Stderr, "no requests")
		os.Exit(2)
	}

	transport := &http.Transport{
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     30 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	client := &http.Client{Transport: transport, Timeout: *timeout}

	total := int64(*rate * duration.Seconds())
	interval := time.Duration(float64(time.Second) / *rate)
	latencies := make([]float64, 0, total)
	var mu sync.Mutex
	statuses := map[string]int{}
	var firstErrors []string
	var sent, completed, errors, inFlight, respBytes int64
	var wg sync.WaitGroup

	start := time.Now()
	for i := int64(0); i < total; i++ {
		intended := start.Add(time.Duration(i) * interval)
		if d := time.Until(intended); d > 0 {
			time.Sleep(d)
		}
		if atomic.LoadInt64(&inFlight) >= int64(*maxInFlight) {
			// Count it as an error rather than queueing without bound; its latency is unknown.
			atomic.AddInt64(&errors, 1)
			mu.Lock()
			statuses["client-saturated"]++
			mu.Unlock()
			continue
		}
		r := reqs[(int(i)+*offset)%len(reqs)]
		atomic.AddInt64(&sent, 1)
		atomic.AddInt64(&inFlight, 1)
		wg.Add(1)
		go func(r request, intended time.Time) {
			defer wg.Done()
			defer atomic.AddInt64(&inFlight, -1)
			req, _ := http.NewRequest(r.Method, r.URL, bytes.NewBufferString(r.Body))
			for k, v := range r.Headers {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			elapsed := float64(time.Since(intended).Microseconds()) / 1000.0
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errors++
				statuses["transport-error"]++
				if len(firstErrors) < 5 {
					firstErrors = append(firstErrors, err.Error())
				}
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			respBytes += n
			completed++
			statuses[fmt.Sprint(resp.StatusCode)]++
			if resp.StatusCode >= 500 || resp.StatusCode == 429 {
				errors++
			}
			latencies = append(latencies, elapsed)
		}(r, intended)
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	sort.Float64s(latencies)
	sum := 0.0
	for _, l := range latencies {
		sum += l
	}
	mean := 0.0
	if len(latencies) > 0 {
		mean = sum / float64(len(latencies))
	}
	out := result{
		Rate: *rate, Duration: duration.Seconds(), Sent: sent, Completed: completed,
		Errors: errors, Statuses: statuses, AchievedRate: float64(completed) / wall,
		P50: percentile(latencies, 0.50), P90: percentile(latencies, 0.90),
		P95: percentile(latencies, 0.95), P99: percentile(latencies, 0.99),
		P999: percentile(latencies, 0.999), Mean: mean, FirstErrors: firstErrors,
		ResponseBytes: respBytes,
	}
	if len(latencies) > 0 {
		out.Max = latencies[len(latencies)-1]
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}
