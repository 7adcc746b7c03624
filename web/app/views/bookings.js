// My bookings: upcoming and past, each in its space's time; an upcoming one can be cancelled.

import { api } from "../api.js";
import { formatInterval, formatMoney, t } from "../i18n.js";
import { announce, h, notice, title } from "../ui.js";
import { spaceOf } from "./booking.js";

export async function view() {
  const now = new Date().toISOString();
  const [upcoming, past] = await Promise.all([
    api("GET", `/reservations?from=${encodeURIComponent(now)}&limit=100`),
    api("GET", `/reservations?to=${encodeURIComponent(now)}&limit=100`),
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
  );
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
