// My bookings: upcoming (under way included) and past, each in its space's time. An upcoming one can
// be changed or cancelled, an occurrence of a series cancelled with the series' following dates.

import { ApiError, api } from "../api.js";
import { formatInterval, formatMoney, t, zoneName } from "../i18n.js";
import { announce, failure, field, h, handle, notice, showProblem, title } from "../ui.js";
import { addDays, daysBetween, instantAt, wallClock } from "../zoned.js";
import { conflictView, spaceOf } from "./booking.js";

export async function view() {
  const now = new Date();
  const [upcoming, past, waiting, pending] = await Promise.all([
    api("GET", `/reservations?from=${encodeURIComponent(now.toISOString())}&limit=100`),
    api("GET", `/reservations?to=${encodeURIComponent(now.toISOString())}&limit=100`),
    api("GET", "/waitlist"),
    api("GET", "/reservations/pending?limit=100"),
  ]);
  const every = new Map([...past.items, ...upcoming.items].map((booking) => [booking.id, booking]));
  const byStart = [...every.values()].sort((a, b) => new Date(a.start_time) - new Date(b.start_time));
  const coming = byStart.filter((booking) => new Date(booking.end_time) > now); // under way ones too
  const done = byStart.filter((booking) => new Date(booking.end_time) <= now).reverse();
  const section = h(
    "section",
    {},
    title(t("bookings.title")),
    h("h2", {}, t("bookings.upcoming")),
    await list(coming, () => redraw(section)),
    h("h2", {}, t("bookings.past")),
    await list(done, null),
    waiting.length ? [h("h2", {}, t("waitlist.title")), await waitlist(waiting)] : null,
    pending.items.length ? [h("h2", {}, t("decide.title")), await decisions(pending.items)] : null,
  );
  return section;
}

// The bookings anew, after a change that touched several of them (a series cancelled from a date on).
async function redraw(section) {
  try {
    section.replaceWith(await view());
  } catch {
    // the list stays as it was; the outcome already said what happened
  }
}

async function waitlist(entries) {
  const rows = await Promise.all(
    entries.map(async (entry) => {
      const space = await spaceOf(entry.space_id).catch(() => ({ name: "—", timezone: "UTC" }));
      const when = formatInterval(entry.start_time, entry.end_time, space.timezone);
      const item = h(
        "li",
        { class: "booking" },
        h("h3", {}, space.name),
        h("p", {}, when),
        h("p", { class: "meta" }, t(`waitlist.status.${entry.status}`)),
      );
      if (entry.status === "waiting") {
        const leave = h(
          "button",
          {
            type: "button",
            class: "danger",
            "aria-label": `${t("waitlist.leave")}: ${space.name}, ${when}`,
            onclick: async () => {
              leave.disabled = true;
              try {
                await api("DELETE", `/waitlist/${entry.id}`);
                leave.replaceWith(notice(t("waitlist.left")));
              } catch (error) {
                leave.disabled = false;
                item.append(failure(error));
              }
            },
          },
          t("waitlist.leave"),
        );
        item.append(leave);
      }
      return item;
    }),
  );
  return h("ul", { class: "bookings" }, rows);
}

async function decisions(items) {
  const rows = await Promise.all(
    items.map(async (booking) => {
      const space = await spaceOf(booking.space_id).catch(() => ({ name: "—", timezone: "UTC" }));
      const when = formatInterval(booking.start_time, booking.end_time, space.timezone);
      const outcome = h("div", { class: "outcome" });
      const decide = (verb) => async () => {
        let body;
        if (verb === "decline") {
          const reason = prompt(t("decide.reason"));
          if (!reason) return;
          body = { reason };
        }
        try {
          await api("POST", `/reservations/${booking.id}/${verb}`, { body });
          buttons.replaceWith(notice(t(verb === "approve" ? "decide.approved" : "decide.declined"), "success"));
        } catch (error) {
          outcome.replaceChildren(failure(error));
        }
      };
      const buttons = h(
        "div",
        { class: "actions" },
        h("button", { type: "button", "aria-label": `${t("decide.approve")}: ${space.name}, ${when}`, onclick: decide("approve") }, t("decide.approve")),
        h("button", { type: "button", class: "danger", "aria-label": `${t("decide.decline")}: ${space.name}, ${when}`, onclick: decide("decline") }, t("decide.decline")),
      );
      return h("li", { class: "booking" }, h("h3", {}, space.name), h("p", {}, when), buttons, outcome);
    }),
  );
  return h("ul", { class: "bookings" }, rows);
}

async function list(items, redraw) {
  if (!items.length) return notice(t("bookings.none"));
  const rows = await Promise.all(items.map((booking) => row(booking, redraw)));
  return h("ul", { class: "bookings" }, rows);
}

// One booking: what, when, its state, and what its holder may do with it now. `redraw` (upcoming
// bookings only) shows the list anew.
async function row(booking, redraw) {
  const space = await spaceOf(booking.space_id).catch(() => ({ name: "—", timezone: "UTC" }));
  const when = formatInterval(booking.start_time, booking.end_time, space.timezone);
  const status = h("span", { class: `status ${booking.status}` }, t(`status.${booking.status}`));
  const actions = h("div", { class: "actions" });
  const outcome = h("div", { class: "outcome" });
  const item = h(
    "li",
    { class: "booking" },
    h("h3", {}, space.name),
    h("p", {}, when),
    h(
      "p",
      { class: "meta" },
      status,
      booking.cost ? ` · ${formatMoney(booking.cost)}` : "",
      booking.series_id ? ` · ${t("bookings.series")}` : "",
    ),
    actions,
    outcome,
  );
  const now = new Date();
  const open = booking.status === "active" || booking.status === "pending";
  const notStarted = new Date(booking.start_time) > now;
  const failed = (button) => (error) => {
    button.disabled = false;
    outcome.replaceChildren(failure(error));
  };
  const button = (label, attributes, action) => {
    const made = h(
      "button",
      {
        type: "button",
        "aria-label": `${label}: ${space.name}, ${when}`,
        ...attributes,
        onclick: async () => {
          made.disabled = true;
          await action(made).catch(failed(made));
        },
      },
      label,
    );
    return made;
  };
  if (booking.status === "active" && booking.check_in_by && !booking.checked_in_at && new Date(booking.check_in_by) > now) {
    actions.append(
      button(t("checkin.button"), {}, async (clicked) => {
        await api("POST", `/reservations/${booking.id}/check-in`);
        clicked.replaceWith(notice(t("checkin.done", { name: space.name, when }), "success"));
      }),
    );
  }
  if (booking.checked_in_at) item.insertBefore(h("p", { class: "meta" }, t("checkin.checkedIn")), actions);
  if (redraw && booking.status === "active" && new Date(booking.end_time) > now) {
    actions.append(
      button(t("change.button"), { class: "secondary", "aria-expanded": "false" }, async (clicked) => {
        clicked.disabled = false;
        const opened = clicked.getAttribute("aria-expanded") === "true";
        clicked.setAttribute("aria-expanded", String(!opened));
        if (opened) return outcome.replaceChildren();
        outcome.replaceChildren(changeForm(booking, space, item, redraw, clicked));
        outcome.querySelector("input:not([readonly])")?.focus();
      }),
    );
  }
  if (redraw && open && notStarted) {
    actions.append(
      button(t("bookings.cancel"), { class: "danger" }, async (clicked) => {
        if (!confirm(t("bookings.confirm", { name: space.name, when }))) return (clicked.disabled = false);
        const cancelled = await api("DELETE", `/reservations/${booking.id}`);
        status.className = `status ${cancelled.status}`;
        status.textContent = t(`status.${cancelled.status}`);
        actions.replaceChildren();
        outcome.replaceChildren();
        announce(t("bookings.cancelled", { name: space.name, when }));
      }),
    );
    if (booking.series_id) {
      actions.append(
        button(t("bookings.cancelFollowing"), { class: "danger" }, async (clicked) => {
          if (!confirm(t("bookings.confirmFollowing", { name: space.name, when }))) return (clicked.disabled = false);
          const from = encodeURIComponent(booking.start_time);
          await api("DELETE", `/reservations/series/${booking.series_id}?from=${from}`);
          await redraw();
          announce(t("bookings.cancelledFollowing", { name: space.name, when }));
        }),
      );
    }
  }
  return item;
}

// Changing a booking's time or people, in its space's time. A booking under way keeps its start. On
// a 409 the booking keeps its old time, and what is free instead in the space is offered.
function changeForm(booking, space, item, redraw, opener) {
  const zone = space.timezone;
  const start = wallClock(booking.start_time, zone);
  const end = wallClock(booking.end_time, zone);
  // The end is the first time it names after the start (past midnight, say), and as many days later
  // again as the booking's own end was: a booking of a day (or of 25 hours, over the night the clocks
  // go back) stays one.
  const endAfter = (date, from, time) => {
    const first = instantAt(date, time, zone);
    return first && from && first <= from ? instantAt(addDays(date, 1), time, zone) : first;
  };
  const firstEnd = endAfter(start.date, new Date(booking.start_time), end.time);
  const extraDays = firstEnd ? daysBetween(wallClock(firstEnd, zone).date, end.date) : 0;
  const underWay = new Date(booking.start_time) <= new Date();
  const conflict = h("div", { class: "outcome" });
  const form = h(
    "form",
    { class: "change", novalidate: true, "aria-label": `${t("change.title")}: ${space.name}` },
    field(t("field.date"), { name: "date", type: "date", value: start.date, required: true, readonly: underWay }),
    field(t("field.start"), { name: "start_time", type: "time", step: 300, value: start.time, readonly: underWay }),
    field(t("field.end"), { name: "end_time", type: "time", step: 300, value: end.time, required: true }),
    field(t("field.people"), { name: "attendees", type: "number", min: 1, max: space.capacity, value: booking.attendees }),
    h("p", { class: "hint" }, underWay ? t("change.underWay") : t("change.zone", { zone: zoneName(zone) })),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit" }, t("change.save")),
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => {
            opener.setAttribute("aria-expanded", "false");
            form.parentElement?.replaceChildren();
            opener.focus();
          },
        },
        t("change.keep"),
      ),
    ),
    conflict,
  );
  const keys = new Map(); // one Idempotency-Key per change asked for, however often it is sent
  const send = async (body) => {
    const text = JSON.stringify(body);
    if (!keys.has(text)) keys.set(text, crypto.randomUUID());
    conflict.replaceChildren();
    try {
      const changed = await api("PATCH", `/reservations/${booking.id}`, {
        body,
        headers: { "Idempotency-Key": keys.get(text) },
      });
      const fresh = await row(changed, redraw);
      const when = formatInterval(changed.start_time, changed.end_time, zone);
      fresh.append(notice(t("change.done", { name: space.name, when }), "success"));
      item.replaceWith(fresh);
      fresh.querySelector("h3").setAttribute("tabindex", "-1");
      fresh.querySelector("h3").focus();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409 && error.problem?.conflicts)) throw error;
      const take = (suggestion, button) => {
        button.disabled = true;
        send({ start_time: suggestion.start_time, end_time: suggestion.end_time }).catch((failure) => {
          button.disabled = false;
          showProblem(form, failure);
        });
      };
      conflict.replaceChildren(await conflictView(error.problem, space, take, { heading: "h4" }));
      conflict.querySelector(".conflict [tabindex]")?.focus();
    }
  };
  return handle(form, async (values) => {
    const body = {};
    const attendees = Number(values.attendees);
    if (attendees !== booking.attendees) body.attendees = attendees;
    const date = underWay ? start.date : values.date;
    // Times left as they were keep their instants: a wall-clock time the clocks going back repeat
    // names two, and the form shows only one.
    const sameStart = date === start.date && values.start_time === start.time;
    const newStart = underWay || sameStart ? new Date(booking.start_time) : instantAt(date, values.start_time, zone);
    let newEnd = endAfter(date, newStart, values.end_time);
    if (newEnd && extraDays) newEnd = instantAt(addDays(wallClock(newEnd, zone).date, extraDays), values.end_time, zone);
    if ((underWay || sameStart) && values.end_time === end.time) newEnd = new Date(booking.end_time);
    if (!newStart || !newEnd) {
      const name = !newStart ? (instantAt(values.date, "00:00", zone) ? "start_time" : "date") : "end_time";
      throw { problem: { summary: t("change.invalid"), errors: [{ loc: [name], msg: t("change.invalid") }] } };
    }
    if (newStart.getTime() !== new Date(booking.start_time).getTime()) body.start_time = newStart.toISOString();
    if (newEnd.getTime() !== new Date(booking.end_time).getTime()) body.end_time = newEnd.toISOString();
    if (!Object.keys(body).length) {
      conflict.replaceChildren(notice(t("change.nothing")));
      return;
    }
    await send(body);
  });
}
