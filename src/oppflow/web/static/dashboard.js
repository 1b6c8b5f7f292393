// oppflow — the dashboard fetches its reports read from the change log once it is shown,
// one after the other (a worker answers one request at a time), each replacing its placeholder.
"use strict";

async function fetchReport(placeholder) {
  const progress = placeholder.querySelector("[data-progress]");
  if (progress) progress.hidden = false;
  try {
    const answer = await fetch(placeholder.dataset.fragment, {
      headers: { "X-Oppflow-Fragment": "1" },
      credentials: "same-origin",
    });
    if (!answer.ok) throw new Error(String(answer.status));
    const holder = document.createElement("div");
    holder.innerHTML = await answer.text();
    const card = holder.querySelector("section");
    if (card) placeholder.replaceWith(card);
  } catch (error) {
    // The link in the placeholder still opens the report on a page of its own.
    if (progress) progress.hidden = true;
    placeholder.removeAttribute("aria-busy");
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  for (const placeholder of document.querySelectorAll("[data-fragment]")) {
    await fetchReport(placeholder);
  }
});
