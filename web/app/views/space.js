// A space's day: a timeline of free and taken time in the space's time zone (and the viewer's, when
// they differ), and its bookable slots, each a button that books it.

import { api } from "../api.js";
import { formatDay, formatTime, t, zoneName } from "../i18n.js";
import { field, h, notice, title } from "../ui.js";
import { addDays, todayIn } from "../zoned.js";
import { book, bookSeries, remember } from "./booking.js";

const REPEATS = ["DAILY", "WEEKLY", "MONTHLY"];

export async function view(spaceId, query) {
  const space = await api("GET", `/spaces/${spaceId}`);
  const date = query.get("date") || todayIn(space.timezone); // the space's today, not UTC's
  const day = await api("GET", `/spaces/${spaceId}/availability?date=${encodeURIComponent(date)}`);
  remember(space);
  const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const elsewhere = viewerZone !== space.timezone;
  const outcome = h("div", { class: "outcome" });
  const options = bookingOptions(space);
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
          onclick: (event) => {
            const request = {
              space_id: space.id,
              start_time: slot.start_time,
              end_time: slot.end_time,
              attendees: Number(options.attendees.value) || 1,
            };
            const rule = options.rule();
            if (rule) bookSeries(request, rule, outcome, event.currentTarget, options.element);
            else book(request, outcome, event.currentTarget);
          },
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
      h("a", { href: `#/spaces/${space.id}?date=${addDays(date, -1)}` }, `← ${t("space.prev")}`),
      h("h2", {}, formatDay(day.from, space.timezone)),
      h("a", { href: `#/spaces/${space.id}?date=${addDays(date, 1)}` }, `${t("space.next")} →`),
    ),
    h("p", { class: "zone" }, t("space.zone", { zone: zoneName(space.timezone) })),
    timeline(day, space.timezone),
    options.element,
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

// How many people, and whether to book the slot once or again and again (a series: every day, week
// or month, so many times). Its fields are where a refused series' errors are shown.
function bookingOptions(space) {
  const attendees = field(t("field.people"), { name: "attendees", type: "number", min: 1, max: space.capacity, value: 1 });
  const repeat = field(t("field.repeat"), {
    name: "repeat",
    type: "select",
    options: [
      h("option", { value: "" }, t("repeat.none")),
      ...REPEATS.map((frequency) => h("option", { value: frequency }, t(`repeat.${frequency}`))),
    ],
  });
  const times = field(
    t("field.times"),
    { name: "times", type: "number", min: 2, max: 104, value: 4, "data-field": "rule" },
    t("repeat.hint"),
  );
  times.hidden = true;
  repeat.input.addEventListener("change", () => (times.hidden = !repeat.input.value));
  return {
    element: h("div", { class: "booking-options" }, attendees, repeat, times),
    attendees: attendees.input,
    rule: () => {
      if (!repeat.input.value) return null;
      const count = Math.trunc(Number(times.input.value)) || 0;
      return `FREQ=${repeat.input.value};COUNT=${count}`;
    },
  };
}
