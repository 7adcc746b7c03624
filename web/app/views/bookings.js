// My bookings: upcoming and past, each in its space's time; an upcoming one can be cancelled.

import { api } from "../api.js";
import { formatInterval, formatMoney, t } from "../i18n.js";
import { announce, h, notice, title } from "../ui.js";
import { spaceOf } from "./booking.js";

export async function view() {
  const now = new Date().toISOString();
  const [upcoming, past, waiting, pending] = await Promise.all([
    api("GET", `/reservations?from=${encodeURIComponent(now)}&limit=100`),
    api("GET", `/reservations?to=${encodeURIComponent(now)}&limit=100`),
    api("GET", "/waitlist"),
    api("GET", "/reservations/pending?limit=100"),
  ]);
  const coming = upcoming.items.filter((booking) => new Date(booking.start_time) > new Date());
  const done = [...past.items, ...upcoming.items.filter((booking) => new Date(booking.start_time) <= new Date())];
  return h(
    "section",
    {},
    title(t("bookings.title")),
    h("h2", {}, t("bookings.upcoming")),
    await list(coming, true),
    h("h2", {}, t("bookings.past")),
    await list(done.reverse(), false),
    waiting.length ? [h("h2", {}, t("waitlist.title")), await waitlist(waiting)] : null,
    pending.items.length ? [h("h2", {}, t("decide.title")), await decisions(pending.items)] : null,
  );
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
                item.append(notice(error.problem?.detail || t("error.generic"), "error"));
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
          outcome.replaceChildren(notice(error.problem?.detail || t("error.generic"), "error"));
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

async function list(items, cancellable) {
  if (!items.length) return notice(t("bookings.none"));
  const rows = await Promise.all(items.map((booking) => row(booking, cancellable)));
  return h("ul", { class: "bookings" }, rows);
}

async function row(booking, cancellable) {
  const space = await spaceOf(booking.space_id).catch(() => ({ name: "—", timezone: "UTC" }));
  const when = formatInterval(booking.start_time, booking.end_time, space.timezone);
  const status = h("span", { class: `status ${booking.status}` }, t(`status.${booking.status}`));
  const item = h(
    "li",
    { class: "booking" },
    h("h3", {}, space.name),
    h("p", {}, when),
    h("p", { class: "meta" }, status, booking.cost ? ` · ${formatMoney(booking.cost)}` : ""),
  );
  if (booking.status === "active" && booking.check_in_by && !booking.checked_in_at && new Date(booking.check_in_by) > new Date()) {
    const checkIn = h(
      "button",
      {
        type: "button",
        "aria-label": `${t("checkin.button")}: ${space.name}, ${when}`,
        onclick: async () => {
          checkIn.disabled = true;
          try {
            await api("POST", `/reservations/${booking.id}/check-in`);
            checkIn.replaceWith(notice(t("checkin.done", { name: space.name, when }), "success"));
          } catch (error) {
            checkIn.disabled = false;
            item.append(notice(error.problem?.detail || t("error.generic"), "error"));
          }
        },
      },
      t("checkin.button"),
    );
    item.append(checkIn);
  }
  if (booking.checked_in_at) item.append(h("p", { class: "meta" }, t("checkin.checkedIn")));
  if (cancellable && (booking.status === "active" || booking.status === "pending")) {
    item.append(
      h(
        "button",
        {
          type: "button",
          class: "danger",
          "aria-label": `${t("bookings.cancel")}: ${space.name}, ${when}`,
          onclick: async (event) => {
            if (!confirm(t("bookings.confirm", { name: space.name, when }))) return;
            event.target.disabled = true;
            try {
              const cancelled = await api("DELETE", `/reservations/${booking.id}`);
              status.className = `status ${cancelled.status}`;
              status.textContent = t(`status.${cancelled.status}`);
              event.target.remove();
              announce(t("bookings.cancelled", { name: space.name, when }));
            } catch (error) {
              event.target.disabled = false;
              item.append(notice(error.problem?.detail || t("error.generic"), "error"));
            }
          },
        },
        t("bookings.cancel"),
      ),
    );
  }
  return item;
}
