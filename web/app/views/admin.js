// Admins: the spaces, a form to create or edit one with an opening-hours editor that cannot produce
// invalid hours (closing after opening, or at midnight), and deactivating a space.

import { api } from "../api.js";
import { t, weekdays } from "../i18n.js";
import { field, h, handle, notice, showProblem, title } from "../ui.js";

export async function listView() {
  const page = await api("GET", "/spaces?include_inactive=true&limit=100");
  const items = page.items.map((space) => {
    const row = h(
      "li",
      { class: "card" },
      h("h3", {}, space.name, space.is_active ? "" : ` (${t("admin.inactive")})`),
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
                row.append(notice(error.problem?.detail || t("error.generic"), "error"));
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

function zones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC", "Europe/Madrid", "Europe/London", "America/New_York"];
  }
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
    field(t("field.description"), { name: "description", value: space.description }),
    field(t("field.capacity"), { name: "capacity", type: "number", min: 1, value: space.capacity, required: true }),
    field(t("field.location"), { name: "location", value: space.location }),
    field(t("field.amenities"), { name: "amenities", value: space.amenities.join(", ") }),
    field(t("field.timezone"), {
      name: "timezone",
      type: "select",
      options: zones().map((name) => h("option", { value: name, selected: name === zone }, name)),
    }),
    field(t("field.price"), { name: "price_per_hour", inputmode: "decimal", value: space.price_per_hour }),
    field(t("field.currency"), { name: "currency", value: space.currency, maxlength: 3, autocomplete: "off" }),
    hours.element,
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
    };
    const saved = spaceId
      ? await api("PUT", `/spaces/${spaceId}`, { body })
      : await api("POST", "/spaces", { body });
    form.replaceWith(notice(t("admin.saved", { name: saved.name }), "success"), h("p", {}, h("a", { href: "#/admin/spaces" }, t("admin.back"))));
  });
  return h("section", {}, title(spaceId ? `${t("admin.edit")}: ${space.name}` : t("admin.new")), form);
}

// One opening interval per day: open or not; opens; closes, or at midnight. The closing time is
// checked as it is typed, and the form refuses to send hours that close before they open.
function hoursEditor(opening) {
  const days = weekdays().map(({ key, name }) => {
    const [interval] = opening[key] || [];
    const open = h("input", { type: "checkbox", id: `open-${key}`, checked: Boolean(interval) });
    const opens = h("input", { type: "time", id: `opens-${key}`, step: 900, value: interval ? interval[0] : "08:00" });
    const midnight = h("input", { type: "checkbox", id: `midnight-${key}`, checked: interval ? interval[1] === "24:00" : false });
    const closes = h("input", { type: "time", id: `closes-${key}`, step: 900, value: interval && interval[1] !== "24:00" ? interval[1] : "20:00" });
    const error = h("p", { class: "hours-error", id: `hours-${key}-error`, hidden: true }, t("hours.invalid"));
    const check = () => {
      closes.disabled = !open.checked || midnight.checked;
      opens.disabled = midnight.disabled = !open.checked;
      const wrong = open.checked && !midnight.checked && (!opens.value || !closes.value || closes.value <= opens.value);
      error.hidden = !wrong;
      if (wrong) {
        closes.setAttribute("aria-invalid", "true");
        closes.setAttribute("aria-describedby", error.id);
      } else {
        closes.removeAttribute("aria-invalid");
        closes.removeAttribute("aria-describedby");
      }
      return !wrong;
    };
    [open, opens, closes, midnight].forEach((input) => input.addEventListener("input", check));
    check();
    const element = h(
      "fieldset",
      { class: "day" },
      h("legend", {}, name),
      h("div", { class: "inline" }, open, h("label", { for: open.id }, t("hours.open", { day: name }))),
      h("div", { class: "inline" }, h("label", { for: opens.id }, t("hours.from")), opens),
      h("div", { class: "inline" }, h("label", { for: closes.id }, t("hours.to")), closes),
      h("div", { class: "inline" }, midnight, h("label", { for: midnight.id }, t("hours.midnight"))),
      error,
    );
    return { key, element, check, value: () => (open.checked ? [[opens.value, midnight.checked ? "24:00" : closes.value]] : null) };
  });
  return {
    element: h("fieldset", { class: "hours" }, h("legend", {}, t("hours.title")), days.map((day) => day.element)),
    value() {
      if (!days.every((day) => day.check())) return null;
      return Object.fromEntries(days.filter((day) => day.value()).map((day) => [day.key, day.value()]));
    },
  };
}
