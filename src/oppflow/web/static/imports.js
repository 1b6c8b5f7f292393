// The import page's progress bar: poll the job while it runs, reload once it has ended.
// Without scripts the page refreshes itself (a meta refresh in <noscript>).
(function () {
  "use strict";
  const section = document.querySelector("[data-import-progress]");
  if (!section) return;
  const url = section.getAttribute("data-import-progress");
  const bar = document.getElementById("import-progress");
  const rows = section.querySelector("[data-import-rows]");
  const template = rows ? rows.getAttribute("data-template") : "";

  async function poll() {
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!answer.ok) return;
      const job = await answer.json();
      if (job.status === "done" || job.status === "failed") {
        window.location.reload();
        return;
      }
      if (job.rows_total !== null) {
        bar.max = Math.max(job.rows_total, 1);
        bar.value = job.rows_done;
        bar.textContent = String(job.rows_done);
        if (rows) {
          rows.textContent = template
            .replace("{done}", String(job.rows_done))
            .replace("{total}", String(job.rows_total));
        }
      }
    } catch (error) {
      // The next poll tries again.
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
