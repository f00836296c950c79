package loadbench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// bareWebhookSecret is the baseline's signing key (raw bytes).
const bareWebhookSecret = "bare-webhook-secret-0123456789ab"

// bareDeliveryBody is the 1 KiB event every baseline delivery carries.
var bareDeliveryBody = func() []byte {
	b, _ := json.Marshal(map[string]any{"type": "case.updated", "tenant": "acme",
		"data": map[string]any{"id": "case_acme_1001", "title": strings.Repeat("x", 920)}})
	return b
}()

// handleDeliver is the baseline sender: POST /deliver?url=U&concurrency=N&duration=D
// sends Standard Webhooks-signed 1 KiB POSTs to U from N workers over
// keep-alive connections for D, then answers {"sent": n}. It is the
// ceiling the sandbox's delivery engine is compared with: signing and
// HTTP, with no queue, records or retries.
func handleDeliver(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target, err := url.Parse(q.Get("url"))
	conc, cerr := strconv.Atoi(q.Get("concurrency"))
	d, derr := time.ParseDuration(q.Get("duration"))
	if err != nil || target.Scheme != "http" || cerr != nil || conc < 1 || derr != nil || d <= 0 {
		http.Error(w, "want url=http://…, concurrency>0, duration>0", http.StatusBadRequest)
		return
	}
	sent, err := sendSigned(r.Context(), target.String(), conc, d)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int64{"sent": sent})
}

// sendSigned posts signed deliveries to target from conc workers for d.
func sendSigned(ctx context.Context, target string, conc int, d time.Duration) (int64, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	defer client.CloseIdleConnections()
	secret := []byte(bareWebhookSecret)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var sent, seq atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := "msg_" + strconv.FormatInt(seq.Add(1), 10)
				ts := strconv.FormatInt(time.Now().Unix(), 10)
				mac := hmac.New(sha256.New, secret)
				mac.Write([]byte(id + "." + ts + "."))
				mac.Write(bareDeliveryBody)
				req, err := http.NewRequestWithContext(ctx, "POST", target, bytes.NewReader(bareDeliveryBody))
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("webhook-id", id)
				req.Header.Set("webhook-timestamp", ts)
				req.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						once.Do(func() { firstErr = err })
					}
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					sent.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return sent.Load(), firstErr
}

// bareDeliveries measures the baseline: the bare server process sends
// signed deliveries to a receiver in this process for the run's duration.
func bareDeliveries(ctx context.Context, cfg Config, base string) (Figure, error) {
	rc, addr, stop, err := serveReceiver()
	if err != nil {
		return Figure{}, err
	}
	defer stop()
	q := url.Values{"url": {"http://" + addr + "/hook"}, "concurrency": {strconv.Itoa(cfg.Concurrency)},
		"duration": {cfg.Duration.String()}}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/deliver?"+q.Encode(), nil)
	if err != nil {
		return Figure{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Figure{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return Figure{}, fmt.Errorf("bare deliveries: %s: %s", resp.Status, raw)
	}
	got := rc.got.Load()
	if got == 0 {
		return Figure{}, fmt.Errorf("bare deliveries: none arrived (%s)", raw)
	}
	el := time.Duration(rc.last.Load() - start.UnixNano())
	return Figure{Target: "bare", Metric: "webhook-deliveries", Value: float64(got) / el.Seconds(), Unit: "deliveries/s"}, nil
}
