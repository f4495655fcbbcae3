/* The template editor: one CodeMirror per page, one document per part of the version
   (bodies, subject, sample data); a live preview that follows typing; syntax errors and
   brand lint marked at their lines; the review steps for the version's status. */
(function () {
  "use strict";

  var api = window.studio.api;
  var el = window.studio.element;
  var config = JSON.parse(document.getElementById("editor-config").textContent);
  var base = "/v1/templates/" + encodeURIComponent(config.template);
  var PREVIEW_DELAY_MS = 400;

  //: Every part an editor may show, in tab order; which preview it belongs to.
  var PARTS = [
    { id: "bodies/pdf", label: "PDF body", mode: "jinja-html", preview: "html" },
    { id: "bodies/html", label: "HTML body", mode: "jinja-html", preview: "html" },
    { id: "bodies/email", label: "Email body", mode: "jinja-html", preview: "email" },
    { id: "subject", label: "Subject", mode: "jinja-text", preview: "email" },
    { id: "bodies/email_text", label: "Email text", mode: "jinja-text", preview: "email" },
    { id: "bodies/sms", label: "SMS", mode: "jinja-text", preview: null },
    { id: "sample_data", label: "Sample data", mode: { name: "javascript", json: true },
      preview: null },
  ];
  var STATUS_WORDS = { draft: "draft", in_review: "in review", approved: "approved",
                       published: "published", retired: "retired" };
  var ACTION_DONE = {
    submit: "Submitted for review.", approve: "Approved: it can be published now.",
    "request-changes": "Sent back to its author as a draft.",
    publish: "Published: customers get this version from now on.", retire: "Retired.",
  };

  // -- Jinja over HTML (and over plain text) ------------------------------------------

  function jinjaOverlay(cmConfig) {
    var jinja = CodeMirror.getMode(cmConfig, "jinja2");
    var opening = /^\{[{%#]/;
    return {
      startState: function () { return CodeMirror.startState(jinja); },
      copyState: function (state) { return CodeMirror.copyState(jinja, state); },
      token: function (stream, state) {
        if (!state.intag && !state.incomment && !stream.match(opening, false)) {
          stream.next();
          while (!stream.eol() && !stream.match(opening, false)) { stream.next(); }
          return null;
        }
        var style = jinja.token(stream, state);
        return "jinja" + (style ? " " + style : "");
      },
    };
  }

  CodeMirror.defineMode("jinja-html", function (cmConfig) {
    return CodeMirror.overlayMode(CodeMirror.getMode(cmConfig, "htmlmixed"),
                                  jinjaOverlay(cmConfig), true);
  });
  CodeMirror.defineMode("jinja-text", function (cmConfig) {
    return CodeMirror.overlayMode(CodeMirror.getMode(cmConfig, "text/plain"),
                                  jinjaOverlay(cmConfig), true);
  });

  // -- state -----------------------------------------------------------------------------

  var state = {
    version: null,   // the version as the API returned it
    parts: [],       // PARTS this version has
    docs: {},        // part id -> CodeMirror.Doc
    active: null,    // part id shown
    dirty: false,
    errors: [],      // [{part, line, message}] from the last preview
    lint: [],        // [{part, line, rule, message}]
    renders: {},     // the last good render of each channel
    lastShown: null, // the channel the preview frame shows
    previewSeq: 0,
    previewTimer: null,
    lineMarks: [],
  };

  var $ = function (id) { return document.getElementById(id); };
  // contenteditable input: what screen readers read best, and focusable inside the
  // editor's scrolling area. Tab and Shift-Tab leave the editor (indent with Ctrl-] and
  // Ctrl-[), so a keyboard user is never trapped in it.
  var cm = CodeMirror($("code"), {
    lineNumbers: true, lineWrapping: true, indentUnit: 2, tabSize: 2,
    inputStyle: "contenteditable", screenReaderLabel: "Template source",
    gutters: ["CodeMirror-linenumbers", "ccm-problems"],
    extraKeys: { "Ctrl-S": function () { save(); }, "Cmd-S": function () { save(); },
                 Tab: false, "Shift-Tab": false },
  });
  cm.getInputField().setAttribute("role", "textbox");
  cm.getInputField().setAttribute("aria-multiline", "true");
  window.studioEditor = { cm: cm, state: state };

  // -- parts and tabs ----------------------------------------------------------------------

  function partOf(id) {
    if (state.docs[id]) { return id; }
    if (state.docs["bodies/" + id]) { return "bodies/" + id; }
    return id;
  }

  function partLabel(id) {
    var found = PARTS.filter(function (p) { return p.id === id; })[0];
    return found ? found.label : id;
  }

  function buildParts(version) {
    state.parts = PARTS.filter(function (part) {
      if (part.id.indexOf("bodies/") === 0) {
        return Object.prototype.hasOwnProperty.call(version.bodies, part.id.slice(7));
      }
      if (part.id === "subject") {
        return version.subject !== null || "email" in version.bodies;
      }
      return true;
    });
    state.docs = {};
    state.parts.forEach(function (part) {
      var text;
      if (part.id === "subject") { text = version.subject || ""; }
      else if (part.id === "sample_data") { text = JSON.stringify(version.sample_data, null, 2); }
      else { text = version.bodies[part.id.slice(7)]; }
      var doc = CodeMirror.Doc(text, part.mode);
      doc.on("change", onEdit);
      state.docs[part.id] = doc;
    });
    var tabs = $("part-tabs");
    tabs.textContent = "";
    state.parts.forEach(function (part) {
      tabs.appendChild(el("button", {
        type: "button", role: "tab", id: "tab-" + part.id.replace("/", "-"),
        "aria-controls": "part-panel", "aria-selected": "false", tabindex: "-1",
        "data-part": part.id, onclick: function () { showPart(part.id); },
        onkeydown: onTabKey,
      }, [part.label]));
    });
    var first = ["bodies/email", "bodies/html", "bodies/pdf", "bodies/sms"].filter(
      function (id) { return state.docs[id]; })[0];
    showPart(first || state.parts[0].id);
  }

  function onTabKey(event) {
    var tabs = Array.prototype.slice.call($("part-tabs").querySelectorAll("[role=tab]"));
    var index = tabs.indexOf(event.currentTarget);
    var next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[
      event.key];
    if (next === undefined) { return; }
    event.preventDefault();
    var tab = tabs[(next + tabs.length) % tabs.length];
    showPart(tab.getAttribute("data-part"));
    tab.focus();
  }

  function showPart(id) {
    state.active = id;
    cm.swapDoc(state.docs[id]);
    cm.setOption("screenReaderLabel", "Source of the " + partLabel(id));
    $("part-tabs").querySelectorAll("[role=tab]").forEach(function (tab) {
      var selected = tab.getAttribute("data-part") === id;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.setAttribute("tabindex", selected ? "0" : "-1");
      if (selected) { $("part-panel").setAttribute("aria-labelledby", tab.id); }
    });
    drawGutter();
    showPreview();
  }

  // -- content ---------------------------------------------------------------------------

  function contentError(part, line, message) {
    var error = new Error(message);
    error.part = part;
    error.line = line;
    return error;
  }

  function sampleData() {
    var doc = state.docs.sample_data;
    var text = doc.getValue();
    try {
      return JSON.parse(text);
    } catch (exc) {
      var line = /line (\d+)/.exec(exc.message);
      var position = /position (\d+)/.exec(exc.message);
      var at = line ? Number(line[1]) : position ? doc.posFromIndex(Number(position[1])).line + 1
        : null;
      throw contentError("sample_data", at, "Sample data is not valid JSON: " + exc.message);
    }
  }

  function currentContent() {
    var version = state.version;
    var bodies = {};
    Object.keys(version.bodies).forEach(function (channel) {
      bodies[channel] = state.docs["bodies/" + channel].getValue();
    });
    var subject = state.docs.subject ? state.docs.subject.getValue() : version.subject;
    return {
      journey: version.journey, stage: version.stage, bodies: bodies,
      default_locale: version.default_locale, subject: subject === "" ? null : subject,
      data_schema: version.data_schema, sample_data: sampleData(),
      translations: version.translations, sms_max_segments: version.sms_max_segments,
      email_attach_pdf: version.email_attach_pdf,
    };
  }

  // -- problems: the list, the tab counts, the lines ---------------------------------------

  function clearLineMarks() {
    state.lineMarks.forEach(function (mark) {
      mark.doc.removeLineClass(mark.handle, "background", mark.cls);
    });
    state.lineMarks = [];
  }

  function problems() {
    return state.errors.map(function (e) {
      return { part: partOf(e.part), line: e.line, message: e.message, kind: "error" };
    }).concat(state.lint.map(function (f) {
      return { part: partOf(f.part), line: f.line, message: f.message + " (" + f.rule + ")",
               kind: "lint" };
    }));
  }

  function lineIndex(doc, line) {
    return Math.max(0, Math.min(line - 1, doc.lineCount() - 1));
  }

  function drawGutter() {
    cm.clearGutter("ccm-problems");
    problems().forEach(function (p) {
      if (p.part !== state.active || !p.line) { return; }
      var marker = el("span", { "class": "ccm-marker " + p.kind, title: p.message,
                                "aria-hidden": "true" }, [p.kind === "error" ? "✗" : "⚠"]);
      cm.setGutterMarker(lineIndex(cm.getDoc(), p.line), "ccm-problems", marker);
    });
  }

  function reveal(part, line) {
    if (!state.docs[part]) { return; }
    showPart(part);
    cm.focus();
    if (line) {
      cm.setCursor({ line: lineIndex(cm.getDoc(), line), ch: 0 });
      cm.scrollIntoView(null, 120);
    }
  }

  function findingItem(p) {
    var where = partLabel(p.part) + (p.line ? ", line " + p.line : "");
    var target = state.docs[p.part]
      ? el("button", { type: "button", "class": "where",
                       onclick: function () { reveal(p.part, p.line); } }, [where])
      : el("span", { "class": "where" }, [where]);
    return el("li", { "class": p.kind + "-item" }, [target, ": " + p.message]);
  }

  function drawProblems() {
    clearLineMarks();
    var all = problems();
    [["errors", "error"], ["lint", "lint"]].forEach(function (pair) {
      var list = $(pair[0]);
      list.textContent = "";
      var mine = all.filter(function (p) { return p.kind === pair[1]; });
      mine.forEach(function (p) { list.appendChild(findingItem(p)); });
      if (!mine.length) { list.appendChild(el("li", { "class": "muted" }, ["None."])); }
    });
    all.forEach(function (p) {
      var doc = state.docs[p.part];
      if (!doc || !p.line) { return; }
      var cls = p.kind === "error" ? "cm-error-line" : "cm-lint-line";
      var handle = doc.addLineClass(lineIndex(doc, p.line), "background", cls);
      state.lineMarks.push({ doc: doc, handle: handle, cls: cls });
    });
    $("part-tabs").querySelectorAll("[role=tab]").forEach(function (tab) {
      var id = tab.getAttribute("data-part");
      var old = tab.querySelector(".count");
      if (old) { old.remove(); }
      var errors = all.filter(function (p) { return p.part === id && p.kind === "error"; });
      var lint = all.filter(function (p) { return p.part === id && p.kind === "lint"; });
      if (errors.length || lint.length) {
        var n = errors.length || lint.length;
        var words = errors.length ? (n === 1 ? "error" : "errors")
          : (n === 1 ? "lint finding" : "lint findings");
        tab.appendChild(el("span", { "class": "count" + (errors.length ? "" : " lint") }, [
          String(n), el("span", { "class": "visually-hidden" }, [" " + words])]));
      }
    });
    drawGutter();
  }

  // -- live preview ------------------------------------------------------------------------

  function previewChannels() {
    return ["html", "email", "sms"].filter(function (c) { return c in state.version.bodies; });
  }

  function shownChannel() {
    var chosen = $("preview-channel").value;
    if (chosen === "auto") {
      var part = PARTS.filter(function (p) { return p.id === state.active; })[0];
      chosen = (part && part.preview) || state.lastShown || "html";
    }
    if (!state.renders[chosen]) {
      chosen = state.renders.email && !state.renders.html ? "email" : "html";
    }
    state.lastShown = chosen;
    return chosen;
  }

  function showPreview() {
    var renders = state.renders;
    var channel = shownChannel();
    var subject = $("email-subject");
    var html = "";
    if (channel === "email" && renders.email) {
      html = renders.email.html;
      subject.hidden = false;
      subject.textContent = "Subject: " + renders.email.subject;
    } else {
      subject.hidden = true;
      html = renders.html ? renders.html.text : "";
    }
    var frame = $("preview-frame");
    frame.setAttribute("title", (channel === "email" ? "Email" : "Web page") +
                       " preview of the template");
    if (frame.getAttribute("data-shown") !== html) {
      frame.srcdoc = html;
      frame.setAttribute("data-shown", html);
    }
    if (renders.sms) {
      $("sms-text").textContent = renders.sms.text;
      var words = renders.sms.segments === 1 ? "segment" : "segments";
      var limit = state.version.sms_max_segments;
      $("sms-meta").textContent = renders.sms.segments + " " + words + " · " +
        renders.sms.encoding + " · " + renders.sms.text.length + " characters" +
        (limit ? " · at most " + limit + " allowed" : "");
    } else if (!("sms" in state.version.bodies)) {
      $("sms-text").textContent = "This template has no SMS body.";
      $("sms-meta").textContent = "";
    }
  }

  function previewRequest(channels, thumbnails) {
    return { content: currentContent(), channels: channels,
             locale: $("preview-locale").value || null, data: null, thumbnails: thumbnails };
  }

  async function refreshPreview() {
    var seq = ++state.previewSeq;
    var body;
    try {
      body = previewRequest(previewChannels(), false);
    } catch (exc) {
      state.errors = [{ part: exc.part, line: exc.line, message: exc.message }];
      drawProblems();
      $("preview-state").textContent = "Preview paused: fix the sample data.";
      return;
    }
    $("preview-state").textContent = "Updating…";
    try {
      var reply = await api("POST", base + "/preview", body);
      if (seq !== state.previewSeq) { return; }
      // A channel that failed keeps its last good render, beside the error.
      state.renders = Object.assign({}, state.renders, reply.renders || {});
      state.errors = reply.errors || [];
      state.lint = reply.lint || [];
      $("preview-state").textContent = state.errors.length
        ? "Shown as last rendered: " + state.errors.length + " error(s)" : "Up to date";
      showPreview();
    } catch (exc) {
      if (seq !== state.previewSeq) { return; }
      state.errors = problemErrors(exc);
      $("preview-state").textContent = "Preview failed.";
    }
    drawProblems();
  }

  function problemErrors(exc) {
    var problem = exc.problem || {};
    var listed = (problem.violations || []).map(function (v) {
      return { part: "sample_data", line: null, message: v.path + ": " + v.message };
    });
    return listed.length ? listed : [{ part: problem.part || "", line: problem.line || null,
                                       message: exc.message }];
  }

  function onEdit() {
    if (!state.dirty) {
      state.dirty = true;
      $("save-state").textContent = "Unsaved changes.";
    }
    clearTimeout(state.previewTimer);
    state.previewTimer = setTimeout(refreshPreview, PREVIEW_DELAY_MS);
  }

  async function renderPdf() {
    var button = $("render-pdf");
    button.disabled = true;
    $("pdf-state").textContent = "Rendering the PDF…";
    try {
      var reply = await api("POST", base + "/preview", previewRequest(["pdf"], true));
      var pdf = reply.renders && reply.renders.pdf;
      var pages = $("pdf-pages");
      pages.textContent = "";
      if (reply.errors && reply.errors.length) {
        state.errors = reply.errors;
        drawProblems();
        $("pdf-state").textContent = "The PDF has errors: see Problems.";
        return;
      }
      (pdf.pages || []).forEach(function (src, index) {
        pages.appendChild(el("img", { src: src, alt: "PDF page " + (index + 1) + " of " +
                                      pdf.page_count }));
      });
      $("pdf-state").textContent = pdf.page_count + (pdf.page_count === 1 ? " page" : " pages");
    } catch (exc) {
      $("pdf-state").textContent = "The PDF could not be rendered: " + exc.message;
    } finally {
      button.disabled = false;
    }
  }

  // -- the version, its status and its review ----------------------------------------------

  function setVersion(version) {
    state.version = version;
    var status = $("status");
    status.textContent = STATUS_WORDS[version.status] || version.status;
    status.className = "status status-" + version.status;
    $("author").textContent = version.created_by || "unknown";
    $("version-label").textContent = "v" + version.version;
    document.title = config.template + " v" + version.version + " · ccm studio";
    var draft = version.status === "draft";
    $("save").textContent = draft ? "Save draft" : "Save as new draft";
    var note = $("edit-note");
    note.hidden = draft;
    note.textContent = draft ? "" : "v" + version.version + " is " +
      STATUS_WORDS[version.status] + " and never changes: saving your edits starts a new draft.";
    var allowed = {
      submit: draft, approve: version.status === "in_review",
      "request-changes": version.status === "in_review" || version.status === "approved",
      publish: version.status === "approved", retire: version.status === "published",
    };
    document.querySelectorAll("[data-action]").forEach(function (button) {
      button.hidden = !allowed[button.getAttribute("data-action")];
    });
  }

  function locales(version) {
    var select = $("preview-locale");
    var chosen = select.value;
    select.textContent = "";
    [version.default_locale].concat(Object.keys(version.translations).sort())
      .forEach(function (locale) {
        select.appendChild(el("option", { value: locale, text: locale }));
      });
    if (chosen) { select.value = chosen; }
    if (!select.value) { select.value = version.default_locale; }
  }

  function say(kind, text, extra) {
    var box = $("action-message");
    box.textContent = "";
    var attributes = { "class": kind };
    if (kind === "error") { attributes.role = "alert"; }
    box.appendChild(el("p", attributes, [text]));
    if (extra) { box.appendChild(extra); }
  }

  function explain(exc) {
    if (exc.code === "four_eyes") {
      return "You wrote this version, so you cannot approve it: another person must. (" +
        exc.message + ")";
    }
    if (exc.code === "lint_failed") {
      return "The brand lint has findings: fix them before submitting for review.";
    }
    return exc.message;
  }

  async function loadHistory() {
    var list = $("history-list");
    try {
      var actions = await api("GET", base + "/versions/" + state.version.version + "/history");
      list.textContent = "";
      actions.forEach(function (a) {
        var when = new Date(a.at).toLocaleString("en-GB", { dateStyle: "medium",
                                                            timeStyle: "short" });
        var item = el("li", {}, [el("strong", {}, [a.action.replace("_", " ")]),
                                 " by " + a.actor + " · " + when]);
        if (a.from_status) {
          item.appendChild(document.createTextNode(" · " + (STATUS_WORDS[a.from_status] ||
            a.from_status) + " → " + (STATUS_WORDS[a.to_status] || a.to_status)));
        }
        if (a.comment) {
          item.appendChild(el("div", { "class": "small" }, ["“" + a.comment + "”"]));
        }
        list.appendChild(item);
      });
      if (!actions.length) { list.appendChild(el("li", { "class": "muted" }, ["No actions."])); }
    } catch (exc) {
      list.textContent = "";
      list.appendChild(el("li", { "class": "error" }, [exc.message]));
    }
  }

  async function refreshVersions() {
    var template = await api("GET", base);
    var select = $("version-select");
    select.textContent = "";
    template.versions.slice().reverse().forEach(function (v) {
      select.appendChild(el("option", { value: String(v.version),
                                        text: "v" + v.version + " · " +
                                              (STATUS_WORDS[v.status] || v.status) }));
    });
    select.value = String(state.version.version);
  }

  function markClean() {
    state.dirty = false;
    Object.keys(state.docs).forEach(function (id) { state.docs[id].markClean(); });
  }

  async function save() {
    var button = $("save");
    button.disabled = true;
    try {
      var content = currentContent();
      var draft = state.version.status === "draft";
      var saved = draft
        ? await api("PUT", base + "/versions/" + state.version.version, content)
        : await api("POST", base + "/versions", content);
      var fresh = saved.version !== state.version.version;
      setVersion(saved);
      markClean();
      state.lint = saved.lint || [];
      drawProblems();
      $("save-state").textContent = fresh ? "Saved as a new draft, v" + saved.version + "."
        : "Saved v" + saved.version + ".";
      if (fresh) {
        window.history.replaceState(null, "", "?version=" + saved.version);
        await refreshVersions();
      }
      await loadHistory();
      return true;
    } catch (exc) {
      say("error", "Not saved: " + explain(exc));
      return false;
    } finally {
      button.disabled = false;
    }
  }

  async function act(action) {
    var buttons = document.querySelectorAll("[data-action], #save");
    buttons.forEach(function (b) { b.disabled = true; });
    try {
      if (action === "submit" && state.dirty && !(await save())) { return; }
      var comment = $("comment").value;
      var done = await api("POST", base + "/versions/" + state.version.version + "/" +
                           action, { comment: comment });
      setVersion(done);
      $("comment").value = "";
      say("ok", ACTION_DONE[action] || "Done.");
      await refreshVersions();
      await loadHistory();
    } catch (exc) {
      var findings = null;
      if (exc.code === "lint_failed" && exc.problem.findings) {
        state.lint = exc.problem.findings;
        drawProblems();
        findings = el("ul", {}, exc.problem.findings.map(function (f) {
          return el("li", {}, [partLabel(partOf(f.part)) + (f.line ? ", line " + f.line : "") +
                               ": " + f.message]);
        }));
      }
      say("error", explain(exc), findings);
    } finally {
      buttons.forEach(function (b) { b.disabled = false; });
    }
  }

  // -- start -------------------------------------------------------------------------------

  async function start() {
    try {
      var version = await api("GET", base + "/versions/" + config.version);
      setVersion(version);
      locales(version);
      buildParts(version);
      var lint = await api("GET", base + "/versions/" + config.version + "/lint");
      state.lint = lint.findings;
      drawProblems();
      await Promise.all([loadHistory(), refreshPreview()]);
      document.body.setAttribute("data-editor-ready", "true");
    } catch (exc) {
      say("error", "The editor could not load this version: " + exc.message);
    }
  }

  $("save").addEventListener("click", function () { save(); });
  document.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () { act(button.getAttribute("data-action")); });
  });
  $("render-pdf").addEventListener("click", renderPdf);
  $("preview-channel").addEventListener("change", showPreview);
  $("preview-locale").addEventListener("change", refreshPreview);
  window.addEventListener("beforeunload", function (event) {
    if (state.dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  start();
})();
