// oppflow — small enhancements over pages that work without scripts.
// Save-as-you-change for process steps, drag and drop on the board, focus in dialogs.
"use strict";

document.documentElement.classList.add("js");

// The browser's time zone, for pages to show times in until the user chooses one.
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !document.cookie.split("; ").includes(`oppflow_tz=${zone}`)) {
    document.cookie = `oppflow_tz=${zone}; path=/; max-age=31536000; samesite=lax`;
  }
})();

const FETCH_HEADERS = { "X-Oppflow-Fetch": "1", Accept: "application/json" };

function announce(text) {
  const live = document.getElementById("live");
  if (live) {
    live.textContent = "";
    window.setTimeout(() => { live.textContent = text; }, 50);
  }
}

function setVersion(version) {
  document.querySelectorAll('input[name="version"]').forEach((input) => {
    input.value = String(version);
  });
}

// Language and other selects that apply on change.
function autosubmit() {
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form && select.form.requestSubmit());
  });
}

// A header checkbox that checks or clears every row's box of the same name.
function checkAll() {
  document.querySelectorAll("input[data-check-all]").forEach((master) => {
    master.addEventListener("change", () => {
      document.querySelectorAll(`input[type=checkbox][name="${CSS.escape(master.dataset.checkAll)}"]`)
        .forEach((box) => { box.checked = master.checked; });
    });
  });
}

// Confirmation before destructive buttons.
function confirmations() {
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    const text = button && button.dataset.confirm;
    if (text && !window.confirm(text)) event.preventDefault();
  }, true);
}

// Process steps: each change is saved at once, with the record version kept current.
function saveSteps(form) {
  const state = form.querySelector("[data-save-state]");
  const texts = form.dataset;
  let queue = Promise.resolve();
  let pending = 0;

  function show(kind, text) {
    if (!state) return;
    state.className = "save-state " + kind;
    state.textContent = text;
  }

  function applyResult(result) {
    setVersion(result.version);
    Object.entries(result.complete || {}).forEach(([field, complete]) => {
      const step = form.querySelector(`.step[data-step="${CSS.escape(field)}"]`);
      if (!step) return;
      step.classList.toggle("complete", complete);
      if (complete) step.classList.remove("missing");
    });
    show("saved", texts.saved || "Saved");
    announce(texts.saved || "Saved");
  }

  async function save() {
    show("", texts.saving || "Saving…");
    const response = await fetch(form.action, {
      method: "POST", body: new FormData(form), headers: FETCH_HEADERS, credentials: "same-origin",
    });
    const result = await response.json().catch(() => ({ ok: false }));
    if (response.ok && result.ok) {
      applyResult(result);
    } else {
      show("failed", result.message || texts.failed || "Not saved");
      announce(result.message || texts.failed || "Not saved");
      if (response.status === 401) window.location.reload();
    }
  }

  form.addEventListener("change", (event) => {
    if (!event.target.name || event.target.type === "hidden") return;
    pending += 1;
    queue = queue.then(save).catch(() => show("failed", texts.failed || "Not saved"))
      .finally(() => { pending -= 1; });
  });

  // A move button clicked while a save is on its way waits for it (and its new version).
  form.addEventListener("submit", (event) => {
    if (pending === 0) return;
    event.preventDefault();
    const submitter = event.submitter;
    queue.then(() => form.requestSubmit(submitter));
  });
}

// Board: dragging a card onto a column submits the card's own move form.
function board() {
  const columns = document.querySelectorAll("[data-column]");
  if (!columns.length) return;
  let dragged = null;
  document.querySelectorAll("[data-card]").forEach((card) => {
    card.addEventListener("dragstart", (event) => {
      dragged = card;
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.dataset.card);
    });
    card.addEventListener("dragend", () => {
      card.classList.remove("dragging");
      columns.forEach((column) => column.classList.remove("drop-target"));
    });
  });
  columns.forEach((column) => {
    column.addEventListener("dragover", (event) => {
      if (!dragged) return;
      event.preventDefault();
      column.classList.add("drop-target");
    });
    column.addEventListener("dragleave", () => column.classList.remove("drop-target"));
    column.addEventListener("drop", (event) => {
      event.preventDefault();
      column.classList.remove("drop-target");
      if (!dragged || dragged.dataset.phase === column.dataset.phase) return;
      const form = dragged.querySelector("form[data-move]");
      form.querySelector('[name="to_phase"]').value = column.dataset.phase;
      form.requestSubmit();
    });
  });
}

// Dialogs: focus the first field when one opens, unless one of its fields has the focus
// already: the toggle event comes a task after the opening, and a quick hand may be typing.
function dialogs() {
  document.querySelectorAll("[popover]").forEach((popover) => {
    popover.addEventListener("toggle", (event) => {
      if (event.newState !== "open" || popover.contains(document.activeElement)) return;
      const first = popover.querySelector("input:not([type=hidden]):not([disabled]), select, textarea");
      if (first) first.focus();
    });
  });
  const open = document.querySelector("dialog[open] input:not([type=hidden]), dialog[open] select");
  if (open) open.focus();
}

document.addEventListener("DOMContentLoaded", () => {
  autosubmit();
  checkAll();
  confirmations();
  document.querySelectorAll("form[data-save-steps]").forEach(saveSteps);
  board();
  dialogs();
});
