// Building the page: elements, forms, and the API's errors shown where they belong.

import { t } from "./i18n.js";

// h("p", {class: "x"}, "text", child) -> an element; attributes starting with "on" are listeners.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "style") Object.assign(element.style, value); // CSSOM: allowed by the page's CSP
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

let fieldCount = 0;

// A labelled input: h-style attributes for the input; returns the wrapper (the input is .input).
export function field(label, attributes = {}, hint = null) {
  const id = attributes.id || `field-${++fieldCount}`;
  const hintId = hint ? `${id}-hint` : null;
  const control =
    attributes.type === "select"
      ? h("select", { ...attributes, type: undefined, options: undefined, id }, ...(attributes.options || []))
      : h("input", { ...attributes, id, "aria-describedby": hintId });
  const wrapper = h(
    "div",
    { class: "field", "data-name": attributes.name },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
  );
  wrapper.input = control;
  return wrapper;
}

export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  setTimeout(() => (region.textContent = message), 50);
}

export function notice(message, kind = "info") {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}

// What went wrong, as the API said it (its `detail`), or in general words.
export function failure(error) {
  return notice(error.problem?.detail || t("error.generic"), "error");
}

function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((node) => node.remove());
  form.querySelectorAll("[aria-invalid]").forEach((node) => {
    node.removeAttribute("aria-invalid");
    const hint = node.id ? form.querySelector(`#${CSS.escape(node.id)}-hint`) : null;
    if (hint) node.setAttribute("aria-describedby", hint.id);
    else node.removeAttribute("aria-describedby");
  });
}

// Show what the API said: each `errors[]` entry next to the field its `loc` names (its last name
// that matches a field's name or data-field), the `detail` above the form. The first named field
// takes focus.
export function showProblem(form, error) {
  clearErrors(form);
  const problem = (error && error.problem) || {};
  const summary = h("div", { class: "form-error", role: "alert", tabindex: "-1" });
  form.prepend(summary);
  let first = null;
  for (const item of problem.errors || []) {
    const names = (item.loc || []).filter((part) => typeof part === "string").reverse();
    const control = names
      .map((name) => form.querySelector(`[name="${CSS.escape(name)}"], [data-field="${CSS.escape(name)}"]`))
      .find(Boolean);
    if (!control) continue;
    const id = `${control.id}-error`;
    if (!form.querySelector(`#${CSS.escape(id)}`)) {
      control.closest(".field, fieldset").append(h("p", { class: "field-error", id }, item.msg));
    }
    control.setAttribute("aria-invalid", "true");
    const described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    control.setAttribute("aria-describedby", [...new Set([...described, id])].join(" "));
    first = first || control;
  }
  // Errors shown at their fields are summed up; anything else is said as the API said it.
  summary.textContent = problem.network
    ? t("error.network")
    : first
      ? problem.summary || t("error.fix")
      : problem.detail || t("error.generic");
  (first || form.querySelector(".form-error")).focus();
}

export function clearProblem(form) {
  clearErrors(form);
}

// Submit a form through `action(values)`; while it runs the button is busy; a failure is shown.
export function handle(form, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button?.setAttribute("aria-busy", "true");
    if (button) button.disabled = true;
    try {
      clearErrors(form);
      await action(Object.fromEntries(new FormData(form)));
    } catch (error) {
      if (!error.problem) console.error(error);
      showProblem(form, error);
    } finally {
      button?.removeAttribute("aria-busy");
      if (button) button.disabled = false;
    }
    const error = form.querySelector("[aria-invalid=true], .form-error");
    if (error && (document.activeElement === document.body || !document.activeElement)) error.focus();
  });
  return form;
}

export function title(text) {
  document.title = `${text} · Reservas`;
  return h("h1", {}, text);
}
