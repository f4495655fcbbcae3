/* The brand page's one action: rebase a sub-brand that is behind its parent, through the
   /v1 API (POST /v1/brands/{key}/rebase), then open the version it made. */
(function () {
  "use strict";

  var box = document.getElementById("rebase");
  if (!box) {
    return;
  }
  var button = document.getElementById("rebase-button");
  var publish = document.getElementById("rebase-publish");
  var result = document.getElementById("rebase-result");
  var key = box.getAttribute("data-brand");

  function say(kind, text) {
    result.replaceChildren(window.studio.element("p", {
      "class": kind, role: kind === "error" ? "alert" : "status", text: text }));
  }

  button.addEventListener("click", async function () {
    button.disabled = true;
    try {
      var made = await window.studio.api("POST", "/v1/brands/" + encodeURIComponent(key) +
                                         "/rebase", { publish: publish.checked });
      say("ok", "Made v" + made.version + " (" + made.status + "), inheriting v" +
          made.parent_version + ".");
      window.location.assign("/studio/brands/" + encodeURIComponent(key) + "?version=" +
                             made.version);
    } catch (error) {
      say("error", error.message || String(error));
      button.disabled = false;
    }
  });
})();
