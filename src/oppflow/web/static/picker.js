// oppflow — type-ahead pickers (the ARIA 1.2 combobox pattern with a list box popup).
// Without this script a picker is a select of its current value and a link to the
// search-and-choose page; with it, the select becomes a text box that searches as one types.
"use strict";

(() => {
  const HEADERS = { "X-Oppflow-Fetch": "1", Accept: "application/json" };
  const DELAY_MS = 120;

  function say(text) {
    const live = document.getElementById("live");
    if (live) { live.textContent = ""; window.setTimeout(() => { live.textContent = text; }, 50); }
  }

  function combobox(select, wrapper) {
    const input = document.createElement("input");
    input.type = "text";
    input.id = select.id;
    input.className = "picker-input";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", `${select.id}-list`);
    ["aria-required", "aria-invalid", "aria-describedby", "aria-labelledby", "disabled", "required"]
      .forEach((name) => { if (select.hasAttribute(name)) input.setAttribute(name, select.getAttribute(name)); });
    input.placeholder = wrapper.dataset.placeholder || "";
    const chosen = select.options[select.selectedIndex];
    input.value = chosen && chosen.value ? chosen.textContent.trim() : "";
    return input;
  }

  // The value the form sends: a text input hidden from everyone (not type=hidden, so that the
  // step forms' save-on-change sees its change event).
  function valueField(select) {
    const field = document.createElement("input");
    field.type = "text";
    field.hidden = true;
    field.name = select.name;
    field.value = select.value;
    field.tabIndex = -1;
    if (select.disabled) field.disabled = true;
    return field;
  }

  function enhance(wrapper) {
    const select = wrapper.querySelector("select");
    if (!select) return;
    const input = combobox(select, wrapper);
    const field = valueField(select);
    const list = document.createElement("ul");
    list.id = `${select.id}-list`;
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    const label = document.querySelector(`label[for="${CSS.escape(select.id)}"]`);
    if (label) { label.id = label.id || `${select.id}-label`; list.setAttribute("aria-labelledby", label.id); }
    select.replaceWith(input, field, list);
    const link = wrapper.querySelector(".picker-search");
    if (link) link.hidden = true;
    wire(wrapper, input, field, list);
  }

  function wire(wrapper, input, field, list) {
    let shown = [];
    let active = -1;
    let asked = 0;
    let timer = 0;
    let chosenLabel = input.value;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      active = index;
      [...list.children].forEach((item, at) => item.setAttribute("aria-selected", String(at === index)));
      const item = list.children[index];
      if (item) {
        input.setAttribute("aria-activedescendant", item.id);
        item.scrollIntoView({ block: "nearest" });
      }
    }

    function choose(choice) {
      field.value = choice ? choice.id : "";
      chosenLabel = choice ? choice.label : "";
      input.value = chosenLabel;
      close();
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function show(choices) {
      shown = choices;
      list.replaceChildren(...choices.map((choice, at) => {
        const item = document.createElement("li");
        item.id = `${list.id}-${at}`;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = choice.label;
        if (choice.detail) {
          const detail = document.createElement("span");
          detail.className = "picker-detail";
          detail.textContent = choice.detail;
          item.append(" ", detail);
        }
        item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(choice); });
        return item;
      }));
      if (!choices.length) {
        const none = document.createElement("li");
        none.className = "picker-none";
        none.textContent = wrapper.dataset.none || "No match";
        list.append(none);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
      say((wrapper.dataset.count || "%(count)s results").replace("%(count)s", String(choices.length)));
    }

    async function search() {
      const ticket = ++asked;
      const url = `/lookup/${wrapper.dataset.picker}?q=${encodeURIComponent(input.value)}`;
      const response = await fetch(url, { headers: HEADERS, credentials: "same-origin" });
      if (!response.ok || ticket !== asked) return;
      const body = await response.json();
      if (ticket === asked && document.activeElement === input) show(body.choices);
    }

    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DELAY_MS);
    });
    input.addEventListener("keydown", (event) => {
      const open = !list.hidden && shown.length > 0;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) { search(); return; }
        if (open) highlight(Math.min(active + 1, shown.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (open) highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        choose(shown[active]);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        input.value = chosenLabel;
        close();
      }
    });
    // An emptied box sent at once (Enter, no blur) clears the choice too.
    if (input.form) input.form.addEventListener("submit", () => { if (input.value.trim() === "") field.value = ""; }, true);
    input.addEventListener("blur", () => {
      // Typing without choosing changes nothing; an emptied box clears the choice.
      if (input.value.trim() === "") { if (chosenLabel) choose(null); } else input.value = chosenLabel;
      close();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".picker[data-picker]").forEach(enhance);
  });
})();
