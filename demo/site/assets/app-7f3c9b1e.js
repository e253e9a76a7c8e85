// GitCourse demo front end: a tiny client-side router. Every route below is
// served by edge as index.html (SPA fallback); data comes from /api/.
const app = document.getElementById("app");

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};

async function api(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} (request ${res.headers.get("X-Request-Id") || "?"})`);
  return res.json();
}

function card(title, ...body) {
  return el("section", { class: "card" }, el("h2", {}, title), ...body);
}

async function home() {
  return card("Welcome",
    el("p", {}, "This single-page app is served by edge from memory, compressed once with brotli and gzip."),
    el("p", {}, "Open ", el("a", { href: "/courses", "data-link": "" }, "the course list"),
      " to see data fetched through edge's reverse proxy from the sample API."));
}

async function courses() {
  const list = await api("/api/courses");
  const grid = el("div", { class: "grid" });
  for (const c of list.courses) {
    grid.append(el("article", { class: "card" },
      el("h3", {}, el("a", { href: `/courses/${c.id}`, "data-link": "" }, c.title)),
      el("p", { class: "muted" }, `${c.lessons} lessons · ${c.level}`)));
  }
  return el("div", {}, el("h1", {}, "Courses"), grid);
}

async function course(id) {
  const c = await api(`/api/courses/${encodeURIComponent(id)}`);
  const lessons = el("ol");
  for (const l of c.outline) lessons.append(el("li", {}, l));
  return card(c.title, el("p", { class: "muted" }, c.summary), lessons);
}

async function about() {
  return card("About this demo",
    el("p", {}, "Static files: ETag, Last-Modified, Range and 304; immutable hashed assets; no directory listings; no dotfiles."),
    el("p", {}, "Every response carries HSTS (over HTTPS), CSP, X-Frame-Options, Referrer-Policy and Permissions-Policy."));
}

const routes = [
  [/^\/$/, home],
  [/^\/courses\/?$/, courses],
  [/^\/courses\/([\w-]+)(?:\/.*)?$/, (m) => course(m[1])],
  [/^\/about\/?$/, about],
];

async function render() {
  const path = location.pathname;
  let view = () => card("Not found", el("p", {}, `No page at ${path}.`));
  for (const [re, fn] of routes) {
    const m = path.match(re);
    if (m) { view = () => fn(m); break; }
  }
  app.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  try {
    app.replaceChildren(await view());
  } catch (err) {
    app.replaceChildren(card("Something went wrong", el("p", { class: "bad" }, err.message)));
  }
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-link]");
  if (!a || a.origin !== location.origin) return;
  e.preventDefault();
  history.pushState(null, "", a.pathname);
  render();
});
window.addEventListener("popstate", render);

async function health() {
  const state = document.getElementById("api-state");
  try {
    const h = await api("/api/health");
    state.textContent = `API: ${h.status} (${h.service})`;
    state.className = "ok";
  } catch (err) {
    state.textContent = `API: unavailable (${err.message})`;
    state.className = "bad";
  }
}

render();
health();
