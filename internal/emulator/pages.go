package emulator

import (
	"bytes"
	"html/template"
	"net/http"
)

// The pages are self-contained (no external assets) and rendered with
// html/template, so everything they echo from a request is escaped.
const pagesSource = `
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}} - Oracle Identity Cloud Service (emulator)</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f5f4f2;color:#312d2a;margin:0}
header{background:#312d2a;color:#fff;padding:12px 24px;font-size:15px}
main{max-width:380px;margin:48px auto;background:#fff;padding:32px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:22px;margin:0 0 8px}
p.app{margin:0 0 20px;color:#665f5b}
label{display:block;margin:14px 0 4px;font-size:14px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:9px;font-size:15px;border:1px solid #9e9892;border-radius:4px}
.buttons{margin-top:22px;display:flex;gap:10px}
button{padding:9px 18px;font-size:15px;border-radius:4px;border:1px solid #312d2a;background:#fff;cursor:pointer}
button.primary{background:#312d2a;color:#fff}
.error{background:#fbe9e7;border:1px solid #d9534f;color:#8a1f11;padding:8px 10px;border-radius:4px}
footer{text-align:center;font-size:12px;color:#665f5b}
</style>
</head>
<body>
<header>Oracle Identity Cloud Service <small>(idcsctl emulator)</small></header>
<main>
{{end}}
{{define "foot"}}</main>
<footer>This page is served by the idcsctl IDCS emulator, not by Oracle.</footer>
</body>
</html>
{{end}}

{{define "login"}}{{template "head" .}}
<h1>Sign In</h1>
<p class="app">to continue to <strong id="client-name">{{.ClientName}}</strong></p>
{{if .Error}}<p class="error" id="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}" id="signin-form" autocomplete="off">
<input type="hidden" name="request_id" value="{{.RequestID}}">
<label for="username">User Name</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autocapitalize="none" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="buttons">
<button type="submit" id="signin" class="primary" name="action" value="signin">Sign In</button>
<button type="submit" id="cancel" name="action" value="cancel" formnovalidate>Cancel</button>
</div>
</form>
{{template "foot" .}}{{end}}

{{define "device"}}{{template "head" .}}
<h1>Connect a Device</h1>
<p class="app">Enter the code your device shows, then sign in to allow it.</p>
{{if .Error}}<p class="error" id="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}" id="device-form" autocomplete="off">
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" value="{{.UserCode}}" autocapitalize="characters" required>
<label for="username">User Name</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autocapitalize="none" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="buttons">
<button type="submit" id="approve" class="primary" name="action" value="approve">Allow</button>
<button type="submit" id="deny" name="action" value="deny">Deny</button>
</div>
</form>
{{template "foot" .}}{{end}}

{{define "message"}}{{template "head" .}}
<h1 id="title">{{.Title}}</h1>
<p id="message"{{if .Error}} class="error" role="alert"{{end}}>{{.Message}}</p>
{{template "foot" .}}{{end}}
`

func parsePages() (*template.Template, error) {
	return template.New("pages").Parse(pagesSource)
}

// page is what every template reads; each uses the fields it needs.
type page struct {
	Title      string
	Message    string
	Error      string
	ClientName string
	Action     string
	RequestID  string
	Username   string
	UserCode   string
}

// render writes a page with headers that keep it out of caches and frames.
func (e *Emulator) render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := e.pages.ExecuteTemplate(&buf, name, p); err != nil {
		http.Error(w, "emulator: render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// No form-action directive: browsers apply it to the redirect that
	// follows a sign-in, which goes to the application's loopback address.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage is the answer when the emulator must not redirect: an unknown
// client or an unregistered redirect URI (RFC 6749 4.1.2.1).
func (e *Emulator) errorPage(w http.ResponseWriter, status int, title, message string) {
	e.render(w, status, "message", page{Title: title, Message: message, Error: "error"})
}
