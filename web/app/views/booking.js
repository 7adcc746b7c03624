// Booking a time, from the search or a space's day: on a 409, what is in the way and what is free
// instead, each suggestion a button that books it.

import { ApiError, api, signedIn } from "../api.js";
import { formatInterval, t } from "../i18n.js";
import { h, notice } from "../ui.js";

const spaces = new Map();

export async function spaceOf(id) {
  if (!spaces.has(id)) spaces.set(id, api("GET", `/spaces/${id}`));
  return spaces.get(id);
}

export function forget() {
  spaces.clear();
}

export function remember(space) {
  spaces.set(space.id, Promise.resolve(space));
}

const keys = new WeakMap(); // one Idempotency-Key per booking asked for, however often it is clicked

// Book `request` ({space_id, start_time, end_time, attendees?}) and show how it went in `where`;
// `trigger`, the button clicked, waits while the request runs.
export async function book(request, where, trigger = null) {
  if (!signedIn()) {
    where.replaceChildren(notice(t("book.signinFirst"), "error"), h("a", { href: "#/signin" }, t("nav.signin")));
    return;
  }
  if (trigger?.disabled) return;
  if (trigger) trigger.disabled = true;
  if (!keys.has(request)) keys.set(request, crypto.randomUUID());
  try {
    await booking(request, where);
  } finally {
    if (trigger) trigger.disabled = false;
  }
}

async function booking(request, where) {
  const space = await spaceOf(request.space_id);
  try {
    const booked = await api("POST", "/reservations", {
      body: request,
      headers: { "Idempotency-Key": keys.get(request) },
    });
    const done = t("book.done", {
      name: space.name,
      when: formatInterval(booked.start_time, booked.end_time, space.timezone),
    });
    where.replaceChildren(
      notice(done, "success"),
      h("p", {}, h("a", { href: "#/bookings" }, t("nav.bookings"))),
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      where.replaceChildren(await conflictView(error.problem, request, where));
      where.querySelector("h2")?.focus();
    } else {
      where.replaceChildren(notice(error.problem?.detail || t("error.generic"), "error"));
    }
  }
}

async function conflictView(problem, request, where) {
  const space = await spaceOf(request.space_id);
  const closed = (problem.conflicts || []).length > 0 && problem.conflicts.every((held) => held.held_by === "closure");
  const inTheWay = (problem.conflicts || []).map((held) =>
    h("li", {}, t("book.inTheWay", { when: formatInterval(held.start_time, held.end_time, space.timezone) })),
  );
  const options = await Promise.all(
    (problem.suggestions || []).slice(0, 6).map(async (suggestion) => {
      const other = await spaceOf(suggestion.space_id);
      const label = t("book.take", {
        name: other.name,
        when: formatInterval(suggestion.start_time, suggestion.end_time, other.timezone),
      });
      return h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            onclick: (event) =>
              book(
                { ...request, space_id: suggestion.space_id, start_time: suggestion.start_time, end_time: suggestion.end_time },
                where,
                event.currentTarget,
              ),
          },
          label,
        ),
      );
    }),
  );
  const waiting = h("div", { class: "outcome" });
  const wait = h(
    "button",
    {
      type: "button",
      class: "secondary",
      onclick: async () => {
        wait.disabled = true;
        try {
          await api("POST", "/waitlist", { body: request });
          waiting.replaceChildren(notice(t("waitlist.joined"), "success"));
          wait.remove();
        } catch (error) {
          wait.disabled = false;
          waiting.replaceChildren(notice(error.problem?.detail || t("error.generic"), "error"));
        }
      },
    },
    t("waitlist.join"),
  );
  return h(
    "div",
    { class: "conflict" },
    h("h2", { tabindex: "-1" }, closed ? t("book.closed") : t("book.conflict")),
    inTheWay.length ? h("ul", { class: "in-the-way" }, inTheWay) : null,
    options.length
      ? [h("p", {}, t("book.suggestions")), h("ul", { class: "suggestions" }, options)]
      : h("p", {}, t("book.noSuggestions")),
    h("p", {}, wait),
    waiting,
  );
}
