/* The studio's way to the /v1 API: the session cookie authenticates, and every request
   that changes something carries the session's CSRF token (X-CCM-CSRF). */
(function () {
  "use strict";

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.content : "";
  }

  function ApiError(status, problem) {
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || "http_" + status;
    this.message = this.problem.detail || "The request failed (HTTP " + status + ").";
  }
  ApiError.prototype = Object.create(Error.prototype);

  function signInAgain() {
    var here = window.location.pathname + window.location.search;
    window.location.assign("/studio/sign-in?ended=session&next=" + encodeURIComponent(here));
  }

  async function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (method !== "GET") {
      headers["X-CCM-CSRF"] = meta("ccm-csrf");
    }
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    var reply = await fetch(path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    var type = reply.headers.get("content-type") || "";
    var data = type.indexOf("json") >= 0 ? await reply.json() : await reply.text();
    if (reply.status === 401) {
      signInAgain();
    }
    if (!reply.ok) {
      throw new ApiError(reply.status, typeof data === "object" ? data : { detail: data });
    }
    return data;
  }

  function element(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") {
        node.textContent = attributes[name];
      } else if (name.slice(0, 2) === "on") {
        node.addEventListener(name.slice(2), attributes[name]);
      } else {
        node.setAttribute(name, attributes[name]);
      }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  window.studio = { api: api, ApiError: ApiError, element: element, user: meta("ccm-user") };
})();
