// A space's day: a timeline of free and taken time in the space's time zone (and the viewer's, when
// they differ), and its bookable slots, each a button that books it.

import { api } from "../api.js";
import { formatDay, formatTime, t, zoneName } from "../i18n.js";
import { field, h, notice, title } from "../ui.js";
import { book, remember } from "./booking.js";

function shift(date, days) {
  const day = new Date(`${date}T12:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}

function todayIn(timeZone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

export async function view(spaceId, query) {
  const space = await api("GET", `/spaces/${spaceId}`);
  const date = query.get("date") || todayIn(space.timezone); // the space's today, not UTC's
  const day = await api("GET", `/spaces/${spaceId}/availability?date=${encodeURIComponent(date)}`);
  remember(space);
  const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const elsewhere = viewerZone !== space.timezone;
  const outcome = h("div", { class: "outcome" });
  const attendees = field(t("field.people"), { name: "people", type: "number", min: 1, max: space.capacity, value: 1 });
  const slots = day.slots.map((slot) => {
    const when = `${formatTime(slot.start_time, space.timezone)}–${formatTime(slot.end_time, space.timezone)}`;
    const yours = elsewhere
      ? ` (${t("space.yourZone", { when: `${formatTime(slot.start_time, viewerZone)}–${formatTime(slot.end_time, viewerZone)}` })})`
      : "";
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          onclick: (event) =>
            book(
              {
                space_id: space.id,
                start_time: slot.start_time,
                end_time: slot.end_time,
                attendees: Number(attendees.input.value) || 1,
              },
              outcome,
              event.currentTarget,
            ),
        },
        t("space.slot", { when: when + yours }),
      ),
    );
  });
  return h(
    "section",
    {},
    title(t("space.title", { name: space.name })),
    h("p", { class: "meta" }, [space.location, t("people", { count: space.capacity })].filter(Boolean).join(" · ")),
    space.description ? h("p", { class: "description" }, space.description) : null,
    h(
      "nav",
      { class: "day-nav", "aria-label": t("space.day", { name: space.name }) },
      h("a", { href: `#/spaces/${space.id}?date=${shift(date, -1)}` }, `← ${t("space.prev")}`),
      h("h2", {}, formatDay(day.from, space.timezone)),
      h("a", { href: `#/spaces/${space.id}?date=${shift(date, 1)}` }, `${t("space.next")} →`),
    ),
    h("p", { class: "zone" }, t("space.zone", { zone: zoneName(space.timezone) })),
    timeline(day, space.timezone),
    attendees,
    slots.length ? h("ul", { class: "slots" }, slots) : notice(t("space.noSlots")),
    outcome,
  );
}

function timeline(day, timeZone) {
  const from = new Date(day.from).getTime();
  const span = new Date(day.to).getTime() - from;
  const at = (instant) => `${(((new Date(instant).getTime() - from) / span) * 100).toFixed(3)}%`;
  const free = day.free.map((interval) => {
    const left = at(interval.start_time);
    const width = `calc(${at(interval.end_time)} - ${left})`;
    const label = `${t("space.free")}: ${formatTime(interval.start_time, timeZone)}–${formatTime(interval.end_time, timeZone)}`;
    return h("li", { class: "free", style: { left, width }, title: label }, h("span", { class: "visually-hidden" }, label));
  });
  const ticks = [0, 6, 12, 18].map((hour) =>
    h("span", { class: "tick", style: { left: `${((hour * 3600000) / span) * 100}%` }, "aria-hidden": "true" }, `${String(hour).padStart(2, "0")}:00`),
  );
  return h(
    "figure",
    { class: "timeline" },
    h("ul", { class: "bar", "aria-label": t("space.free") }, free),
    h("div", { class: "ticks" }, ticks),
    h(
      "figcaption",
      {},
      h("span", { class: "key free" }, t("space.free")),
      " ",
      h("span", { class: "key busy" }, t("space.busy")),
    ),
  );
}
