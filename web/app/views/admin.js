// Admins: the spaces, a form to create or edit one (with an opening-hours editor that cannot produce
// invalid hours, closing after opening or at midnight, and its booking rules), the space's check-in
// code to print, and deactivating a space.

import { api } from "../api.js";
import { t, weekdays } from "../i18n.js";
import { failure, field, h, handle, notice, showProblem, title } from "../ui.js";

export async function listView() {
  const page = await api("GET", "/spaces?include_inactive=true&limit=100");
  const items = page.items.map((space) => {
    const row = h(
      "li",
      { class: "card" },
      h("h2", {}, space.name, space.is_active ? "" : ` (${t("admin.inactive")})`),
      h("p", { class: "meta" }, [space.location, t("people", { count: space.capacity }), space.timezone].filter(Boolean).join(" · ")),
    );
    const actions = h("div", { class: "actions" }, h("a", { href: `#/admin/spaces/${space.id}` }, `${t("admin.edit")}: ${space.name}`));
    if (space.is_active) {
      actions.append(
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: async (event) => {
              event.target.disabled = true;
              try {
                await api("DELETE", `/spaces/${space.id}`);
                event.target.replaceWith(notice(t("admin.deactivated", { name: space.name })));
              } catch (error) {
                event.target.disabled = false;
                row.append(failure(error));
              }
            },
          },
          `${t("admin.deactivate")}: ${space.name}`,
        ),
      );
    }
    row.append(actions);
    return row;
  });
  return h(
    "section",
    {},
    title(t("admin.title")),
    h("p", {}, h("a", { class: "button", href: "#/admin/spaces/new" }, t("admin.new"))),
    h("ul", { class: "cards" }, items),
  );
}

// The zones the browser knows, and always the space's own and UTC (browsers may list neither: Chromium
// has no "UTC" and keeps old names such as Europe/Kiev), so saving never moves a space elsewhere.
function zones(current) {
  let known = [];
  try {
    known = Intl.supportedValuesOf("timeZone");
  } catch {
    known = ["Europe/Madrid", "Europe/London", "America/New_York"];
  }
  return [...new Set([current, "UTC", ...known])].sort();
}

export async function editView(spaceId) {
  const space = spaceId
    ? await api("GET", `/spaces/${spaceId}`)
    : { name: "", description: "", capacity: 4, location: "", amenities: [], timezone: Intl.DateTimeFormat().resolvedOptions().timeZone, opening_hours: { mon: [["08:00", "20:00"]], tue: [["08:00", "20:00"]], wed: [["08:00", "20:00"]], thu: [["08:00", "20:00"]], fri: [["08:00", "20:00"]] }, price_per_hour: "0.00", currency: "EUR" };
  const hours = hoursEditor(space.opening_hours);
  const zone = space.timezone;
  const form = h(
    "form",
    { class: "space-form", novalidate: true },
    field(t("field.name"), { name: "name", value: space.name, required: true, maxlength: 100 }),
    textArea(t("field.description"), "description", space.description),
    field(t("field.capacity"), { name: "capacity", type: "number", min: 1, value: space.capacity, required: true }),
    field(t("field.location"), { name: "location", value: space.location }),
    field(t("field.amenities"), { name: "amenities", value: space.amenities.join(", ") }),
    field(t("field.timezone"), {
      name: "timezone",
      type: "select",
      options: zones(zone).map((name) => h("option", { value: name, selected: name === zone }, name)),
    }),
    field(t("field.price"), { name: "price_per_hour", inputmode: "decimal", value: space.price_per_hour }),
    field(t("field.currency"), { name: "currency", value: space.currency, maxlength: 3, autocomplete: "off" }),
    hours.element,
    rulesFieldset(space),
    h("button", { type: "submit" }, spaceId ? t("admin.save") : t("admin.create")),
  );
  handle(form, async (values) => {
    const opening = hours.value();
    if (opening === null) {
      showProblem(form, { problem: { detail: t("hours.invalid"), errors: [] } });
      hours.value(); // marks the days again (showing the problem cleared the marks)
      hours.element.querySelector("[aria-invalid]")?.focus();
      return;
    }
    const body = {
      name: values.name,
      description: values.description,
      capacity: Number(values.capacity),
      location: values.location,
      amenities: values.amenities.split(",").map((item) => item.trim()).filter(Boolean),
      timezone: values.timezone,
      price_per_hour: values.price_per_hour,
      currency: values.currency.toUpperCase(),
      opening_hours: opening,
      ...rulesOf(form),
    };
    const saved = spaceId
      ? await api("PUT", `/spaces/${spaceId}`, { body })
      : await api("POST", "/spaces", { body });
    form.replaceWith(notice(t("admin.saved", { name: saved.name }), "success"), h("p", {}, h("a", { href: "#/admin/spaces" }, t("admin.back"))));
  });
  return h(
    "section",
    {},
    title(spaceId ? `${t("admin.edit")}: ${space.name}` : t("admin.new")),
    form,
    spaceId ? checkInCode(space) : null,
  );
}

const NUMBER_RULES = {
  min_duration_minutes: 30,
  max_duration_minutes: 480,
  slot_minutes: 30,
  max_advance_days: 90,
  buffer_before_minutes: 0,
  buffer_after_minutes: 0,
  check_in_opens_minutes: 15,
  check_in_grace_minutes: 15,
};
const CHOICE_RULES = { check_in_required: false, requires_approval: false };

// How the space is booked: lengths, slots, how far ahead, free time around each booking, check-in and
// approval. Each field is named as the API names it, so its refusals are shown next to it.
function rulesFieldset(space) {
  const number = (name) =>
    field(t(`field.${name}`), { name, type: "number", min: 0, step: 1, value: space[name] ?? NUMBER_RULES[name], required: true });
  const choice = (name) => {
    const id = `rule-${name}`;
    return h(
      "div",
      { class: "inline", "data-name": name },
      h("input", { type: "checkbox", id, name, checked: space[name] ?? CHOICE_RULES[name] }),
      h("label", { for: id }, t(`field.${name}`)),
    );
  };
  return h(
    "fieldset",
    { class: "rules" },
    h("legend", {}, t("rules.title")),
    ["min_duration_minutes", "max_duration_minutes", "slot_minutes", "max_advance_days"].map(number),
    ["buffer_before_minutes", "buffer_after_minutes"].map(number),
    choice("requires_approval"),
    choice("check_in_required"),
    ["check_in_opens_minutes", "check_in_grace_minutes"].map(number),
  );
}

function rulesOf(form) {
  const rules = {};
  for (const name of Object.keys(NUMBER_RULES)) {
    const text = form.elements[name].value.trim();
    rules[name] = /^\d{1,7}$/.test(text) ? Number(text) : text; // anything else: the API says what is wrong
  }
  for (const name of Object.keys(CHOICE_RULES)) rules[name] = form.elements[name].checked;
  return rules;
}

// The code printed where the space is: a QR code of the link people open to check in. Making a new
// one stops every printed copy working.
function checkInCode(space) {
  const shown = h("div", { class: "outcome" });
  const show = async (verb) => {
    const code = await api(verb, `/spaces/${space.id}/check-in-code`);
    const bytes = new TextEncoder().encode(code.svg);
    const image = `data:image/svg+xml;base64,${btoa(String.fromCharCode(...bytes))}`;
    shown.replaceChildren(
      h(
        "figure",
        { class: "check-in-code" },
        h("img", { src: image, alt: t("code.alt", { name: space.name }), width: 240, height: 240 }),
        h("figcaption", {}, h("strong", {}, space.name), h("br"), code.url),
      ),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", onclick: () => window.print() }, t("code.print")),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: async (event) => {
              if (!confirm(t("code.confirmRotate"))) return;
              event.currentTarget.disabled = true;
              await show("POST").catch(failed);
              shown.prepend(notice(t("code.rotated"), "success"));
            },
          },
          t("code.rotate"),
        ),
      ),
    );
  };
  const failed = (error) => shown.replaceChildren(failure(error));
  const button = h(
    "button",
    {
      type: "button",
      class: "secondary",
      onclick: async () => {
        button.disabled = true;
        await show("GET").catch(failed);
        button.remove();
      },
    },
    t("code.show"),
  );
  return h("section", { class: "code" }, h("h2", {}, t("code.title")), h("p", {}, t("code.intro")), button, shown);
}

function textArea(label, name, value) {
  const id = `field-${name}`;
  const area = h("textarea", { id, name, rows: 3, maxlength: 2000 });
  area.value = value || "";
  return h("div", { class: "field", "data-name": name }, h("label", { for: id }, label), area);
}

// Opening hours per day: open or not, and one or more intervals, each closing after it opens (or at
// midnight), none overlapping. The form refuses to send hours that break those rules.
function hoursEditor(opening) {
  const days = weekdays().map(({ key, name }) => dayEditor(key, name, opening[key] || []));
  return {
    element: h("fieldset", { class: "hours" }, h("legend", {}, t("hours.title")), days.map((day) => day.element)),
    value() {
      if (!days.map((day) => day.check()).every(Boolean)) return null;
      return Object.fromEntries(days.filter((day) => day.value()).map((day) => [day.key, day.value()]));
    },
  };
}

function dayEditor(key, name, intervals) {
  const open = h("input", { type: "checkbox", id: `open-${key}`, checked: intervals.length > 0 });
  const rows = [];
  const list = h("div", { class: "intervals" });
  const error = h("p", { class: "hours-error", id: `hours-${key}-error`, hidden: true });
  const add = h("button", { type: "button", class: "secondary", onclick: () => addRow(["13:00", "14:00"]) }, t("hours.add"));

  function addRow([from, to]) {
    const suffix = rows.length ? `-${rows.length + 1}` : "";
    const opens = h("input", { type: "time", id: `opens-${key}${suffix}`, step: 900, value: from });
    const closes = h("input", { type: "time", id: `closes-${key}${suffix}`, step: 900, value: to === "24:00" ? "20:00" : to });
    const midnight = h("input", { type: "checkbox", id: `midnight-${key}${suffix}`, checked: to === "24:00" });
    const row = { opens, closes, midnight };
    const remove = h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () => {
          rows.splice(rows.indexOf(row), 1);
          row.element.remove();
          check();
        },
      },
      t("hours.remove"),
    );
    row.element = h(
      "div",
      { class: "interval" },
      h("div", { class: "inline" }, h("label", { for: opens.id }, t("hours.from")), opens),
      h("div", { class: "inline" }, h("label", { for: closes.id }, t("hours.to")), closes),
      h("div", { class: "inline" }, midnight, h("label", { for: midnight.id }, t("hours.midnight"))),
      rows.length ? remove : null,
    );
    [opens, closes, midnight].forEach((input) => input.addEventListener("input", check));
    rows.push(row);
    list.append(row.element);
    check();
  }

  function value() {
    if (!open.checked) return null;
    return rows
      .map((row) => [row.opens.value, row.midnight.checked ? "24:00" : row.closes.value])
      .sort((a, b) => a[0].localeCompare(b[0]));
  }

  function mark(input, wrong) {
    if (wrong) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", error.id);
    } else {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
  }

  function check() {
    let message = null;
    for (const row of rows) {
      row.opens.disabled = row.midnight.disabled = !open.checked;
      row.closes.disabled = !open.checked || row.midnight.checked;
      const wrong = open.checked && !row.midnight.checked && (!row.opens.value || !row.closes.value || row.closes.value <= row.opens.value);
      mark(row.closes, wrong);
      if (wrong) message = t("hours.invalid");
    }
    add.disabled = !open.checked;
    const hours = value();
    if (!message && hours) {
      for (let index = 1; index < hours.length; index++) {
        if (hours[index][0] < hours[index - 1][1]) message = t("hours.overlap");
      }
      rows.forEach((row) => mark(row.opens, Boolean(message)));
    }
    error.textContent = message || "";
    error.hidden = !message;
    return !message;
  }

  (intervals.length ? intervals : [["08:00", "20:00"]]).forEach(addRow);
  open.addEventListener("input", check);
  const element = h(
    "fieldset",
    { class: "day" },
    h("legend", {}, name),
    h("div", { class: "inline" }, open, h("label", { for: open.id }, t("hours.open", { day: name }))),
    list,
    add,
    error,
  );
  return { key, element, check, value };
}
