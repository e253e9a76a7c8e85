package e2e

// edge in front of the real GitCourse API (testdata/gitcourse-api: FastAPI
// on uvicorn from Debian's packages) and a throwaway PostgreSQL cluster.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gitcourse/edge/internal/testutil"
)

// apiPython is Debian's interpreter: the python3 first on PATH may be one
// that does not see the python3-* packages.
const apiPython = "/usr/bin/python3"

// apiKeepAlive is uvicorn's --timeout-keep-alive, as in the shipped unit:
// above edge's timeouts.idle (90 s), so that edge, not uvicorn, closes an
// idle connection, and never while it sends a request on it.
const apiKeepAlive = "120"

// apiHealthInterval is health.interval of the edge routes in these tests.
const apiHealthInterval = time.Second

var (
	apiDepsOnce sync.Once
	apiDepsErr  error
)

// requireAPIDeps fails (CI) or skips unless uvicorn, FastAPI, SQLAlchemy,
// Alembic, psycopg2 and websockets import under /usr/bin/python3.
func requireAPIDeps(t *testing.T) {
	t.Helper()
	apiDepsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, apiPython, "-c",
			"import fastapi, uvicorn, sqlalchemy, alembic, psycopg2, websockets").CombinedOutput()
		if err != nil {
			apiDepsErr = fmt.Errorf("%s: %v: %s (apt-get install python3-fastapi python3-uvicorn "+
				"python3-sqlalchemy python3-alembic python3-psycopg2 python3-websockets)", apiPython, err, out)
		}
	})
	testutil.RequireOrSkip(t, "uvicorn/FastAPI from Debian's python3-* packages", apiDepsErr)
}

// apiDir is the absolute path of the GitCourse API app.
func apiDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "gitcourse-api"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// apiEnv is the environment of the Python processes.
func apiEnv(dbURL string, extra ...string) []string {
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	return append(env, extra...)
}

// ---------------------------------------------------------- PostgreSQL ---

// pgCluster is a throwaway PostgreSQL cluster (package testutil) with the
// psql helpers of these tests.
type pgCluster struct{ *testutil.Postgres }

// pgSuperPassword is the password of the superuser postgres.
const pgSuperPassword = testutil.PostgresPassword

// apiDatabase builds edge, checks the API's dependencies, and starts
// PostgreSQL with a database "gitcourse" migrated to the head revision;
// it returns the cluster and that database's URL.
func apiDatabase(t *testing.T) (*pgCluster, string) {
	t.Helper()
	edgeBinary(t)
	requireAPIDeps(t)
	pg := startPGCluster(t)
	dbURL := pg.createDatabase(t, "gitcourse")
	alembic(t, dbURL, "upgrade", "head")
	return pg, dbURL
}

func startPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	_, err := exec.LookPath("psql")
	testutil.RequireOrSkip(t, "psql", err)
	return &pgCluster{testutil.StartPostgres(t)}
}

// psql runs SQL as user (password pw) in database db and returns the
// unaligned, tuples-only output.
func (c *pgCluster) psql(t *testing.T, db, user, pw, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "psql", "-h", "127.0.0.1", "-p", c.Port, "-U", user, "-d", db,
		"-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-c", sql)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pw, "PGCONNECT_TIMEOUT=10")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

// createDatabase creates a role and a database it owns and returns its URL.
func (c *pgCluster) createDatabase(t *testing.T, name string) string {
	t.Helper()
	c.psql(t, "postgres", "postgres", pgSuperPassword, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'pw-%s'", name, name))
	c.psql(t, "postgres", "postgres", pgSuperPassword, fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, name))
	return fmt.Sprintf("postgresql://%s:pw-%s@127.0.0.1:%s/%s", name, name, c.Port, name)
}

// alembic runs "python3 -m alembic ARGS" in the app against dbURL.
func alembic(t *testing.T, dbURL string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, apiPython, append([]string{"-m", "alembic"}, args...)...)
	cmd.Dir = apiDir(t)
	cmd.Env = apiEnv(dbURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("alembic %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ------------------------------------------------------------- uvicorn ---

// apiServer is one uvicorn process serving the GitCourse API.
type apiServer struct {
	t        *testing.T
	Port     string
	dbURL    string
	instance string
	cmd      *exec.Cmd
	out      *syncBuffer
	done     chan struct{}
}

// startAPIServer starts uvicorn on a free port and waits for /api/health.
func startAPIServer(t *testing.T, dbURL, instance string) *apiServer {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s := &apiServer{t: t, Port: freePort(t), dbURL: dbURL, instance: instance}
		err := s.start()
		if err == nil {
			return s
		}
		if attempt < 3 && strings.Contains(s.out.String(), "address already in use") {
			continue
		}
		t.Fatalf("start uvicorn %s: %v\n--- uvicorn output ---\n%s", instance, err, s.out)
	}
}

// Addr is the server's host:port.
func (s *apiServer) Addr() string { return "127.0.0.1:" + s.Port }

// start launches uvicorn on s.Port; cleanup stops it by PID.
func (s *apiServer) start() error {
	return s.launch([]string{"--host", "127.0.0.1", "--port", s.Port}, nil)
}

// launch starts uvicorn listening as the arguments listen say, with files
// from fd 3 on, and waits until it serves; cleanup stops it by PID.
func (s *apiServer) launch(listen []string, files []*os.File) error {
	s.out = &syncBuffer{}
	args := append([]string{"-m", "uvicorn", "app:app"}, listen...)
	s.cmd = exec.Command(apiPython, append(args,
		"--proxy-headers", "--forwarded-allow-ips=127.0.0.1", "--timeout-keep-alive", apiKeepAlive)...)
	s.cmd.ExtraFiles = files
	s.cmd.Dir = apiDir(s.t)
	s.cmd.Env = apiEnv(s.dbURL, "INSTANCE="+s.instance)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.WaitDelay = 2 * time.Second
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan struct{})
	cmd, done := s.cmd, s.done
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.t.Cleanup(func() { s.stopProcess(cmd, done, syscall.SIGTERM) })
	if err := s.waitReady(); err != nil {
		s.stopProcess(cmd, done, syscall.SIGKILL)
		return err
	}
	return nil
}

func (s *apiServer) waitReady() error {
	c := &http.Client{Timeout: time.Second}
	var last error
	for range 300 { // 30 s: Python imports take ~2 s, more under -race load
		select {
		case <-s.done:
			return fmt.Errorf("uvicorn exited before it was ready: %s", s.cmd.ProcessState)
		default:
		}
		resp, err := c.Get("http://" + s.Addr() + "/api/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /api/health: %s", resp.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("uvicorn not ready after 30s: %v", last)
}

// Kill ends uvicorn with SIGKILL (a crash) and waits for it.
func (s *apiServer) Kill() { s.stopProcess(s.cmd, s.done, syscall.SIGKILL) }

// Restart starts uvicorn again on the same port.
func (s *apiServer) Restart(t *testing.T) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("restart uvicorn %s on %s: %v\n%s", s.instance, s.Port, err, s.out)
	}
}

// stopProcess signals the process by PID and waits, then SIGKILLs.
func (s *apiServer) stopProcess(cmd *exec.Cmd, done chan struct{}, sig syscall.Signal) {
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// ---------------------------------------------------------------- edge ---

// startEdgeWith is startEdge with extra keys the harness Options do not
// render: routeExtra goes into every [[route]], serverExtra into [server].
func startEdgeWith(t *testing.T, opts Options, routeExtra, serverExtra string) *Edge {
	t.Helper()
	e := newEdgeWithSite(t, opts)
	var text string
	err := launchWithRetry(e, func() {
		text = e.ConfigText()
		for _, r := range opts.Routes {
			line := fmt.Sprintf("upstreams = %s\n", tomlList(r.Upstreams))
			text = strings.Replace(text, line, line+routeExtra+"\n", 1)
		}
		text = strings.Replace(text, "[server]\n", "[server]\n"+serverExtra+"\n", 1)
		e.WriteConfigText(text)
	})
	if err != nil {
		t.Fatalf("start edge: %v\n--- config ---\n%s\n--- edge output ---\n%s", err, text, e.Output())
	}
	return e
}

// apiRoute is edge's [[route]] for the API with quick health checks and a
// short retry_window.
func apiRoute(upstreams ...string) Route {
	return Route{Path: "/api/", Upstreams: upstreams, Timeouts: `connect = "1s", response_header = "2s"`, RetryWindow: "1s"}
}

var apiHealth = fmt.Sprintf(`health = { path = "/api/health", interval = %q, timeout = "500ms" }`, apiHealthInterval)

// apiEcho is what GET /api/echo answers.
type apiEcho struct {
	Method     string              `json:"method"`
	Scheme     string              `json:"scheme"`
	Headers    map[string][]string `json:"headers"`
	Client     *string             `json:"client"`
	ServerPort int                 `json:"server_port"`
	Instance   string              `json:"instance"`
}

func decodeAPIEcho(t *testing.T, body []byte) apiEcho {
	t.Helper()
	var e apiEcho
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("decode /api/echo %q: %v", body, err)
	}
	return e
}

// ---------------------------------------------------------------- tests ---

// TestProxyUvicorn runs edge in front of uvicorn and PostgreSQL. It is not
// parallel: its timing checks (SSE, recovery) should not share the CPUs.
func TestProxyUvicorn(t *testing.T) {
	pg, dbURL := apiDatabase(t)

	t.Run("alembic", func(t *testing.T) { testAlembic(t, pg) })
	api := startAPIServer(t, dbURL, "a")
	e := startEdgeWith(t, Options{Routes: []Route{apiRoute(api.Addr())}}, apiHealth, "")
	t.Run("courses", func(t *testing.T) { testCourses(t, e) })
	t.Run("forwarded-headers", func(t *testing.T) { testForwardedHeaders(t, e) })
	t.Run("upload-413", func(t *testing.T) { testUpload413(t, e, api) })
	t.Run("websocket", func(t *testing.T) { testWebSocket(t, e) })
	t.Run("sse", func(t *testing.T) { testSSE(t, e) })
	t.Run("framing", func(t *testing.T) { testFraming(t, e) })
	t.Run("stream", func(t *testing.T) { testStream(t, e, api) })
	t.Run("slow-504", func(t *testing.T) { testSlow504(t, e) })
	t.Run("trusted-proxy", func(t *testing.T) { testTrustedProxy(t, api) })
	t.Run("kill-and-restart", func(t *testing.T) { testKillRestart(t, e, api) })
	t.Run("two-upstreams", func(t *testing.T) { testTwoUpstreams(t, dbURL) })
}

func testAlembic(t *testing.T, pg *pgCluster) {
	url := pg.createDatabase(t, "migrations")
	q := func(sql string) string { return pg.psql(t, "migrations", "migrations", "pw-migrations", sql) }
	tables := `SELECT coalesce(string_agg(table_name, ',' ORDER BY table_name), '') FROM information_schema.tables
		WHERE table_schema = 'public' AND table_name <> 'alembic_version'`
	enum := `SELECT coalesce(string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder), '') FROM pg_type t
		JOIN pg_enum e ON e.enumtypid = t.oid WHERE t.typname = 'user_role'`
	for round := 1; round <= 2; round++ {
		alembic(t, url, "upgrade", "head")
		if got := q(tables); got != "courses,enrollments,users" {
			t.Fatalf("round %d: tables after upgrade head = %q, want courses,enrollments,users", round, got)
		}
		if got := q(enum); got != "student,instructor,admin" {
			t.Errorf("round %d: user_role = %q, want student,instructor,admin", round, got)
		}
		got := q(`INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada')
			RETURNING role || ',' || (created_at IS NOT NULL) || ',' || (updated_at = created_at)`)
		if !strings.HasPrefix(got, "student,true,true") {
			t.Errorf("round %d: a new user is %q, want role student and both timestamps set", round, got)
		}
		if got := q(`UPDATE users SET name = 'Ada L.' RETURNING updated_at > created_at`); !strings.HasPrefix(got, "t") {
			t.Errorf("round %d: updated_at after an UPDATE > created_at = %q, want t", round, got)
		}
		if got := alembic(t, url, "current"); !strings.Contains(got, "0001 (head)") {
			t.Errorf("round %d: alembic current = %q, want 0001 (head)", round, got)
		}
		alembic(t, url, "downgrade", "base")
		if got := q(tables); got != "" {
			t.Fatalf("round %d: tables after downgrade base = %q, want none", round, got)
		}
		if got := q(enum); got != "" {
			t.Errorf("round %d: user_role still exists after downgrade base: %q", round, got)
		}
	}
}

func testCourses(t *testing.T, e *Edge) {
	c := e.Client()
	body := `{"slug":"git-branching","title":"Branching without fear"}`
	resp, b := do(t, c, http.MethodPost, e.URL("/api/courses"), strings.NewReader(body), header("Content-Type", "application/json"))
	wantStatus(t, resp, b, http.StatusCreated)
	var created struct {
		ID        int    `json:"id"`
		Slug      string `json:"slug"`
		CreatedAt string `json:"created_at"`
	}
	if err := json.Unmarshal(b, &created); err != nil || created.Slug != "git-branching" || created.ID == 0 || created.CreatedAt == "" {
		t.Fatalf("created %q (%v), want the course with an id and created_at", b, err)
	}
	resp, b = do(t, c, http.MethodPost, e.URL("/api/courses"), strings.NewReader(body), header("Content-Type", "application/json"))
	wantStatus(t, resp, b, http.StatusConflict)
	resp, b = get(t, c, e.URL("/api/courses"))
	wantStatus(t, resp, b, http.StatusOK)
	if !strings.Contains(string(b), `"slug":"git-branching"`) {
		t.Errorf("GET /api/courses = %s, want the new course", b)
	}
	resp, b = get(t, c, e.URL(fmt.Sprintf("/api/courses/%d", created.ID)))
	wantStatus(t, resp, b, http.StatusOK)
	checkSecurityHeaders(t, "GET /api/courses/{id}", resp, true)
}

func testForwardedHeaders(t *testing.T, e *Edge) {
	resp, b := get(t, e.Client1(), e.URL("/api/echo"),
		header("X-Forwarded-For", "6.6.6.6"), header("X-Forwarded-Proto", "http"),
		header("X-Forwarded-Host", "evil.test"), header("X-Real-IP", "6.6.6.6"),
		header("X-Request-ID", "client-chosen"), header("Forwarded", "for=6.6.6.6"),
		header("Connection", "X-Hop-Secret"), header("X-Hop-Secret", "1"), header("X-End", "kept"))
	wantStatus(t, resp, b, http.StatusOK)
	checkSecurityHeaders(t, "GET /api/echo", resp, true)
	seen := decodeAPIEcho(t, b)
	h := func(k string) string { return strings.Join(seen.Headers[k], " | ") }
	id := resp.Header.Get("X-Request-Id")
	want := map[string]string{
		"x-forwarded-for":   "127.0.0.1",
		"x-forwarded-proto": "https",
		"x-forwarded-host":  domain + ":" + e.HTTPSPort,
		"x-real-ip":         "127.0.0.1",
		"x-request-id":      id,
		"host":              domain + ":" + e.HTTPSPort,
		"forwarded":         "",
		"x-hop-secret":      "",
		"x-end":             "kept",
	}
	for k, v := range want {
		if got := h(k); got != v {
			t.Errorf("the app saw %s = %q, want %q", k, got, v)
		}
	}
	if !hex16.MatchString(id) {
		t.Errorf("X-Request-Id %q, want one made by edge", id)
	}
	if seen.Scheme != "https" {
		t.Errorf("the app (uvicorn --proxy-headers) saw scheme %q, want https", seen.Scheme)
	}
	if !e.WaitOutput(`"request_id":"`+id+`"`, 5*time.Second) {
		t.Errorf("the access log has no line with request_id %s", id)
	}
}

// testTrustedProxy: behind a trusted load balancer the chain is kept, the
// balancer's request id is used, and pass_host = false sends the
// upstream's own host.
func testTrustedProxy(t *testing.T, api *apiServer) {
	e := startEdgeWith(t, Options{NoHTTPS: true, Routes: []Route{apiRoute(api.Addr())}},
		"pass_host = false", `trusted_proxies = ["127.0.0.1/32"]`)
	resp, b := get(t, e.Client(), e.URL("/api/echo"),
		header("X-Forwarded-For", "203.0.113.7"), header("X-Forwarded-Proto", "https"),
		header("X-Request-ID", "lb-7f3a-42"))
	wantStatus(t, resp, b, http.StatusOK)
	seen := decodeAPIEcho(t, b)
	h := func(k string) string { return strings.Join(seen.Headers[k], " | ") }
	want := map[string]string{
		"x-forwarded-for":   "203.0.113.7, 127.0.0.1",
		"x-forwarded-proto": "https",
		"x-real-ip":         "203.0.113.7",
		"x-request-id":      "lb-7f3a-42",
		"host":              api.Addr(),
	}
	for k, v := range want {
		if got := h(k); got != v {
			t.Errorf("the app saw %s = %q, want %q", k, got, v)
		}
	}
	if got := resp.Header.Get("X-Request-Id"); got != "lb-7f3a-42" {
		t.Errorf("response X-Request-Id = %q, want the trusted proxy's lb-7f3a-42", got)
	}
	// One client address for the log and the app: the one X-Real-IP names,
	// with the TCP peer beside it.
	if !e.WaitOutput(`"request_id":"lb-7f3a-42","client_ip":"203.0.113.7"`, 5*time.Second) {
		t.Error("the access log has no line with the trusted request id and client_ip 203.0.113.7")
	}
	if !e.WaitOutput(`"peer_ip":"127.0.0.1"`, 5*time.Second) {
		t.Error("the access log line of a request through a trusted proxy has no peer_ip")
	}
}

// testUpload413: 50 MB against the default max_body of 10 MB is refused
// before uvicorn sees it.
func testUpload413(t *testing.T, e *Edge, api *apiServer) {
	posts := strings.Count(api.out.String(), `"POST /api/courses`)
	req, err := http.NewRequest(http.MethodPost, e.URL("/api/courses"), io.LimitReader(zeros{}, 50e6))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 50e6
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := e.Client1().Do(req)
	if err != nil {
		t.Fatalf("POST 50 MB: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantStatus(t, resp, b, http.StatusRequestEntityTooLarge)
	checkErrorJSON(t, resp, b, "request body too large")
	checkSecurityHeaders(t, "413", resp, true)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("413 after %s: edge read the body first?", took)
	}
	if n := strings.Count(api.out.String(), `"POST /api/courses`); n != posts {
		t.Errorf("uvicorn logged %d more POSTs: the oversized body reached it", n-posts)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func testWebSocket(t *testing.T, e *Edge) {
	conn := e.DialSite(t)
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := wsHandshake(t, conn, domain+":"+e.HTTPSPort, "/api/ws")
	exchange := func(op byte, msg string) {
		t.Helper()
		if err := wsWrite(conn, op, []byte(msg)); err != nil {
			t.Fatalf("write %q: %v", msg, err)
		}
		gotOp, got, err := wsRead(br)
		if err != nil || gotOp != op || string(got) != msg {
			t.Fatalf("echo of %q: op %d %q %v, want op %d and the same bytes", msg, gotOp, got, err, op)
		}
	}
	exchange(wsText, "hello through edge")
	exchange(wsBinary, strings.Repeat("0123456789", 7000)) // 70 KB: 64-bit length
	// Idle past response_header (2s): an upgraded connection has no
	// response timeout.
	time.Sleep(2500 * time.Millisecond)
	exchange(wsText, "still here")
	if err := wsWrite(conn, wsClose, []byte{0x03, 0xe8}); err != nil {
		t.Fatal(err)
	}
	if op, _, err := wsRead(br); err != nil || op != wsClose {
		t.Errorf("close handshake: op %d, %v; want a close frame", op, err)
	}
}

func testSSE(t *testing.T, e *Edge) {
	const n, interval = 3, time.Second
	req, err := http.NewRequest(http.MethodGet, e.URL(fmt.Sprintf("/api/events?n=%d&interval=%g", n, interval.Seconds())), nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := e.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q, want text/event-stream", ct)
	}
	var arrived []time.Duration
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && len(arrived) < n {
		if strings.HasPrefix(sc.Text(), "data: ") {
			arrived = append(arrived, time.Since(start))
			if want := fmt.Sprintf(`"n": %d`, len(arrived)); !strings.Contains(sc.Text(), want) {
				t.Errorf("event %d: %q", len(arrived), sc.Text())
			}
		}
	}
	if len(arrived) != n {
		t.Fatalf("got %d events, want %d (%v)", len(arrived), n, sc.Err())
	}
	// The app sends one event per second: held back, they would arrive
	// together at the end.
	if arrived[0] > interval*3/4 {
		t.Errorf("first event after %s, want at once (buffered?)", arrived[0])
	}
	for i := 1; i < n; i++ {
		if gap := arrived[i] - arrived[i-1]; gap < interval/2 {
			t.Errorf("event %d arrived %s after event %d, want about %s apart (buffered?); all: %v", i+1, gap, i, interval, arrived)
		}
	}
}

// testSlow504: no response header within response_header (2s) is a 504.
func testSlow504(t *testing.T, e *Edge) {
	start := time.Now()
	resp, b := get(t, e.Client(), e.URL("/api/slow?s=4"))
	took := time.Since(start)
	wantStatus(t, resp, b, http.StatusGatewayTimeout)
	checkErrorJSON(t, resp, b, "upstream timeout")
	checkSecurityHeaders(t, "504", resp, true)
	if took < 1500*time.Millisecond || took > 3500*time.Millisecond {
		t.Errorf("504 after %s, want about response_header = 2s", took)
	}
	resp, b = get(t, e.Client(), e.URL("/api/slow?s=0.2"))
	wantStatus(t, resp, b, http.StatusOK)
}

// testKillRestart: uvicorn killed → 502 at once; restarted → edge serves
// again within one health interval of it being ready.
func testKillRestart(t *testing.T, e *Edge, api *apiServer) {
	c := e.Client()
	api.Kill()
	for range 3 {
		start := time.Now()
		resp, b := get(t, c, e.URL("/api/health"))
		wantStatus(t, resp, b, http.StatusBadGateway)
		checkErrorJSON(t, resp, b, "upstream unavailable")
		checkSecurityHeaders(t, "502", resp, true)
		if took := time.Since(start); took < time.Second || took > 2500*time.Millisecond {
			t.Errorf("502 after %s, want soon after retry_window = 1s", took)
		}
	}
	if !e.WaitOutput(`upstream down`, 5*time.Second) {
		t.Error("edge logged no \"upstream down\"")
	}
	api.Restart(t)
	ready := time.Now()
	ok := eventually(apiHealthInterval+time.Second, func() bool {
		resp, err := c.Get(e.URL("/api/health"))
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if !ok {
		t.Fatalf("edge still failing %s after uvicorn came back; want within one health interval (%s)\n%s",
			time.Since(ready), apiHealthInterval, e.Output())
	}
	if took := time.Since(ready); took > apiHealthInterval {
		t.Errorf("back after %s, want within one health interval (%s)", took, apiHealthInterval)
	}
}

// testTwoUpstreams: both instances get traffic; with one killed under
// load, no GET fails (retry on the other, then passive and active health).
func testTwoUpstreams(t *testing.T, dbURL string) {
	a, b := startAPIServer(t, dbURL, "a"), startAPIServer(t, dbURL, "b")
	e := startEdgeWith(t, Options{NoHTTPS: true, Routes: []Route{apiRoute(a.Addr(), b.Addr())}}, apiHealth, "")
	c := e.Client()
	count := map[string]int{}
	for range 20 {
		resp, body := get(t, c, e.URL("/api/echo"))
		wantStatus(t, resp, body, http.StatusOK)
		count[decodeAPIEcho(t, body).Instance]++
	}
	if count["a"] < 5 || count["b"] < 5 {
		t.Fatalf("20 requests went %v, want both instances used", count)
	}
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { getLoop(c, e.URL("/api/echo"), stop, &sent, &failed, &firstErr) })
	}
	waitSent(t, &sent, 40)
	a.Kill()
	mark := sent.Load()
	waitSent(t, &sent, mark+200)
	close(stop)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d GETs failed while an upstream died; first: %v\n--- edge output ---\n%s",
			n, sent.Load(), firstErr.Load(), grepLines(e.Output(), "upstream"))
	}
	for range 20 {
		resp, body := get(t, c, e.URL("/api/echo"))
		wantStatus(t, resp, body, http.StatusOK)
		if got := decodeAPIEcho(t, body).Instance; got != "b" {
			t.Errorf("a request went to instance %q after a was killed", got)
		}
	}
	// The active checks (health.unhealthy = 3 probes) take a down too, and
	// bring it back (health.healthy = 2) once it is restarted.
	if !e.WaitOutput(`"reason":"active"`, 5*apiHealthInterval) {
		t.Fatalf("no active \"upstream down\" within 5 health intervals\n%s", grepLines(e.Output(), "upstream"))
	}
	a.Restart(t)
	back := eventually(4*apiHealthInterval, func() bool {
		resp, err := c.Get(e.URL("/api/echo"))
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var seen apiEcho
		return json.Unmarshal(body, &seen) == nil && seen.Instance == "a"
	})
	if !back {
		t.Errorf("restarted instance a got no traffic within 4 health intervals\n%s", grepLines(e.Output(), "upstream"))
	}
}

// getLoop sends GETs until stop, counting the ones that did not get 200.
func getLoop(c *http.Client, url string, stop <-chan struct{}, sent, failed *atomic.Int64, firstErr *atomic.Value) {
	for i := 0; i < 100000; i++ {
		select {
		case <-stop:
			return
		default:
		}
		resp, err := c.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
		sent.Add(1)
	}
}

// waitSent waits (bounded) until at least n requests were sent.
func waitSent(t *testing.T, sent *atomic.Int64, n int64) {
	t.Helper()
	if !eventually(30*time.Second, func() bool { return sent.Load() >= n }) {
		t.Fatalf("only %d of %d requests sent within 30s", sent.Load(), n)
	}
}

// ----------------------------------------------------------- WebSocket ---

// WebSocket opcodes (RFC 6455).
const (
	wsText   = 0x1
	wsBinary = 0x2
	wsClose  = 0x8
)

// wsHandshake upgrades conn to a WebSocket at path and checks the answer.
func wsHandshake(t *testing.T, conn net.Conn, hostHeader, path string) *bufio.Reader {
	t.Helper()
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, hostHeader, key)
	br := bufio.NewReader(conn)
	wsUpgraded(t, br, key)
	return br
}

// wsUpgraded reads the answer to a WebSocket opening sent with key and
// fails the test unless it is 101 with the matching Sec-WebSocket-Accept.
func wsUpgraded(t *testing.T, br *bufio.Reader, key string) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read the upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		t.Fatalf("upgrade: status %d, want 101: %q", resp.StatusCode, b)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		t.Fatalf("Sec-WebSocket-Accept %q, want %q", got, want)
	}
	return resp
}

// wsWrite sends one masked frame, as a client must.
func wsWrite(w io.Writer, op byte, payload []byte) error {
	frame := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, 0x80|byte(n))
	case n <= 0xffff:
		frame = append(frame, 0x80|126)
		frame = binary.BigEndian.AppendUint16(frame, uint16(n))
	default:
		frame = append(frame, 0x80|127)
		frame = binary.BigEndian.AppendUint64(frame, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	frame = append(frame, mask[:]...)
	for i, c := range payload {
		frame = append(frame, c^mask[i%4])
	}
	_, err := w.Write(frame)
	return err
}

// wsRead reads one unfragmented frame.
func wsRead(br *bufio.Reader) (op byte, payload []byte, err error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, nil, err
	}
	op = hdr[0] & 0x0f
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		_, err = io.ReadFull(br, ext[:])
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		_, err = io.ReadFull(br, ext[:])
		n = binary.BigEndian.Uint64(ext[:])
	}
	if err != nil || n > 16<<20 {
		return op, nil, fmt.Errorf("frame length %d: %v", n, err)
	}
	var mask [4]byte
	masked := hdr[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(br, mask[:]); err != nil {
			return op, nil, err
		}
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return op, nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return op, payload, nil
}

// grepLines returns the lines of s that contain substr.
func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
