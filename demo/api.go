package demo

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// Course is one entry of the sample API.
type Course struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Level   string   `json:"level"`
	Lessons int      `json:"lessons"`
	Summary string   `json:"summary"`
	Outline []string `json:"outline"`
}

var courses = []Course{
	{ID: "git-basics", Title: "Git basics", Level: "beginner", Lessons: 4, Summary: "Commits, branches and the staging area.",
		Outline: []string{"Why version control", "Your first commit", "Branches", "Merging"}},
	{ID: "rebasing", Title: "Rebasing without fear", Level: "intermediate", Lessons: 3, Summary: "Interactive rebase, fixups and recovery.",
		Outline: []string{"Rebase vs merge", "Interactive rebase", "The reflog saves you"}},
	{ID: "internals", Title: "Git internals", Level: "advanced", Lessons: 3, Summary: "Objects, refs and packfiles.",
		Outline: []string{"Blobs, trees, commits", "Refs and HEAD", "Packfiles"}},
}

// API returns the sample backend: GET /api/health, /api/courses,
// /api/courses/{id}, /api/headers (the forwarding headers it received) and
// POST /api/echo.
func API() http.Handler {
	started := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "service": "demo-api", "uptime_s": int(time.Since(started).Seconds())})
	})
	mux.HandleFunc("GET /api/courses", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"courses": courses})
	})
	mux.HandleFunc("GET /api/courses/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, c := range courses {
			if c.ID == r.PathValue("id") {
				writeJSON(w, http.StatusOK, c)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such course"})
	})
	mux.HandleFunc("GET /api/headers", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]string{"host": r.Host}
		for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip", "X-Request-Id"} {
			out[h] = r.Header.Get(h)
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /api/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "read body"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"bytes": len(body), "body": string(body)})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
