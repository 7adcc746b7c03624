// Finding a free space for a time (the multi-space search), and booking one in two clicks.

import { api } from "../api.js";
import { formatInterval, formatMoney, t, zoneName } from "../i18n.js";
import { field, h, handle, notice, title } from "../ui.js";
import { book, remember } from "./booking.js";

const LENGTHS = [30, 60, 90, 120, 180, 240];

function nextHour() {
  const next = new Date(Date.now() + 3600000);
  const pad = (number) => String(number).padStart(2, "0");
  return {
    date: `${next.getFullYear()}-${pad(next.getMonth() + 1)}-${pad(next.getDate())}`,
    start: `${pad(next.getHours())}:00`,
  };
}

function lengthLabel(minutes) {
  return minutes % 60 === 0 ? t("hours", { count: minutes / 60 }) : t("minutes", { count: minutes });
}

export function view(query) {
  const soon = nextHour();
  const values = {
    date: query.get("date") || soon.date,
    start: query.get("start") || soon.start,
    duration: query.get("duration") || "60",
    people: query.get("people") || "1",
    amenities: query.get("amenities") || "",
  };
  const results = h("div", { id: "results" });
  const searchForm = h(
    "form",
    { class: "search", novalidate: true },
    field(t("field.date"), { name: "date", type: "date", value: values.date, required: true }),
    field(t("field.start"), { name: "start", type: "time", value: values.start, step: 900, required: true }),
    field(t("field.duration"), {
      name: "duration",
      type: "select",
      options: LENGTHS.map((minutes) =>
        h("option", { value: minutes, selected: String(minutes) === values.duration }, lengthLabel(minutes)),
      ),
    }),
    field(t("field.people"), { name: "people", type: "number", min: 1, max: 1000, value: values.people }),
    field(t("field.amenities"), { name: "amenities", value: values.amenities, autocomplete: "off" }),
    h("button", { type: "submit" }, t("find.submit")),
  );
  handle(searchForm, async (chosen) => {
    const start = new Date(`${chosen.date}T${chosen.start}`);
    const year = Number(chosen.date.slice(0, 4));
    if (Number.isNaN(start.getTime()) || year < 1970 || year > 2199) {
      throw { problem: { summary: t("find.years"), errors: [{ loc: ["date"], msg: t("find.years") }] } };
    }
    if (start < new Date(Date.now() - 60000)) {
      throw { problem: { summary: t("find.past"), errors: [{ loc: ["start"], msg: t("find.past") }] } };
    }
    const end = new Date(start.getTime() + Number(chosen.duration) * 60000);
    const params = new URLSearchParams({ start_time: start.toISOString(), end_time: end.toISOString(), limit: "50" });
    if (Number(chosen.people) > 1) params.set("capacity_min", chosen.people);
    if (chosen.amenities.trim()) params.set("amenities", chosen.amenities.trim());
    const page = await api("GET", `/spaces/available?${params}`);
    history.replaceState(null, "", `#/find?${new URLSearchParams(chosen)}`);
    results.replaceChildren(resultsView(page.items, start, end, Number(chosen.people), chosen.date));
  });
  return h("section", {}, title(t("find.title")), searchForm, results);
}

function resultsView(spaces, start, end, people, date) {
  if (!spaces.length) return notice(t("find.none"));
  const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return h(
    "div",
    {},
    h("h2", {}, t("find.results", { count: spaces.length })),
    h(
      "ul",
      { class: "cards" },
      spaces.map((space) => {
        remember(space);
        const outcome = h("div", { class: "outcome" });
        const request = {
          space_id: space.id,
          start_time: start.toISOString(),
          end_time: end.toISOString(),
          attendees: people,
        };
        return h(
          "li",
          { class: "card" },
          h("h3", {}, space.name),
          h(
            "p",
            { class: "meta" },
            [space.location, t("people", { count: space.capacity }), formatMoney(space.cost)].filter(Boolean).join(" · "),
          ),
          h("p", {}, formatInterval(start, end, space.timezone)),
          space.timezone === viewerZone
            ? null
            : h(
                "p",
                { class: "zone" },
                t("find.zone", { zone: zoneName(space.timezone), when: formatInterval(start, end, viewerZone) }),
              ),
          h(
            "div",
            { class: "actions" },
            h(
              "button",
              { type: "button", onclick: (event) => book(request, outcome, event.currentTarget) },
              t("find.book", { name: space.name }),
            ),
            h("a", { href: `#/spaces/${space.id}?date=${date}` }, t("find.day")),
          ),
          outcome,
        );
      }),
    ),
  );
}
