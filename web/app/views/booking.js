// Booking a time, from the search or a space's day, once or as a series: on a 409, what is in the way
// and what is free instead, each suggestion a button that books it.

import { ApiError, api, signedIn } from "../api.js";
import { formatInterval, t } from "../i18n.js";
import { clearProblem, failure, h, notice, showProblem } from "../ui.js";

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

// Whether someone is signed in; if not, `where` says to sign in first.
function signedInOrSaySo(where) {
  if (signedIn()) return true;
  where.replaceChildren(notice(t("book.signinFirst"), "error"), h("a", { href: "#/signin" }, t("nav.signin")));
  return false;
}

const keys = new WeakMap(); // one Idempotency-Key per booking asked for, however often it is clicked

// Book `request` ({space_id, start_time, end_time, attendees?}) and show how it went in `where`;
// `trigger`, the button clicked, waits while the request runs.
export async function book(request, where, trigger = null) {
  if (!signedInOrSaySo(where)) return;
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
    where.replaceChildren(notice(done, "success"), bookingsLink());
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      const taken = new WeakMap(); // one request, so one Idempotency-Key, per suggestion
      const take = (suggestion, button) => {
        if (!taken.has(suggestion)) taken.set(suggestion, { ...request, ...suggestion });
        return book(taken.get(suggestion), where, button);
      };
      where.replaceChildren(await conflictView(error.problem, space, take, { waitFor: request }));
      where.querySelector(".conflict [tabindex]")?.focus();
    } else {
      where.replaceChildren(failure(error));
    }
  }
}

function bookingsLink() {
  return h("p", {}, h("a", { href: "#/bookings" }, t("nav.bookings")));
}

// What is in the way of a time in `space`, and what is free instead: each suggestion a button that
// calls `take({space_id, start_time, end_time}, button)`. With `waitFor`, a booking request, the
// person may also join the waitlist for exactly that time; `heading` fits it where it is shown.
export async function conflictView(problem, space, take, { waitFor = null, heading = "h2" } = {}) {
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
      const chosen = {
        space_id: suggestion.space_id,
        start_time: suggestion.start_time,
        end_time: suggestion.end_time,
      };
      return h("li", {}, h("button", { type: "button", onclick: (event) => take(chosen, event.currentTarget) }, label));
    }),
  );
  return h(
    "div",
    { class: "conflict" },
    h(heading, { tabindex: "-1" }, closed ? t("book.closed") : t("book.conflict")),
    inTheWay.length ? h("ul", { class: "in-the-way" }, inTheWay) : null,
    options.length
      ? [h("p", {}, t("book.suggestions")), h("ul", { class: "suggestions" }, options)]
      : h("p", {}, t("book.noSuggestions")),
    waitFor ? waitlistButton(waitFor) : null,
  );
}

function waitlistButton(request) {
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
          waiting.replaceChildren(failure(error));
        }
      },
    },
    t("waitlist.join"),
  );
  return [h("p", {}, wait), waiting];
}

// Book `request` again and again by `rule` (RFC 5545's RRULE, as the API takes it): every date or
// none (`mode` all_or_nothing); after a 409 that lists the dates in the way, the person may book the
// free ones only (skip_conflicts). A 422 is shown at the `options` fields it names.
export async function bookSeries(request, rule, where, trigger, options, mode = "all_or_nothing") {
  if (!signedInOrSaySo(where)) return;
  if (trigger?.disabled) return;
  const asked = { ...request, rule, mode };
  const body = JSON.stringify(asked);
  if (!seriesKeys.has(body)) seriesKeys.set(body, crypto.randomUUID());
  if (trigger) trigger.disabled = true;
  clearProblem(options);
  const space = await spaceOf(request.space_id);
  try {
    const series = await api("POST", "/reservations/series", {
      body: asked,
      headers: { "Idempotency-Key": seriesKeys.get(body) },
    });
    seriesKeys.delete(body); // booked: the same series asked for again later is a new request
    where.replaceChildren(seriesBooked(series, space), bookingsLink());
  } catch (error) {
    if (error instanceof ApiError && error.status === 409 && mode === "all_or_nothing") {
      where.replaceChildren(seriesConflict(error.problem, request, rule, where, options, space));
      where.querySelector(".conflict [tabindex]")?.focus();
    } else if (error instanceof ApiError && error.status === 422) {
      where.replaceChildren();
      showProblem(options, error);
    } else {
      where.replaceChildren(failure(error));
    }
  } finally {
    if (trigger) trigger.disabled = false;
  }
}

// One Idempotency-Key per series asked for, however often it is clicked, until it is booked (the API
// would replay that booking for a day, even after the series was cancelled).
const seriesKeys = new Map();

function seriesBooked(series, space) {
  const booked = series.occurrences.filter((occurrence) => occurrence.status !== "cancelled");
  const first = booked[0];
  const done = notice(
    t("series.done", {
      count: booked.length,
      name: space.name,
      when: first ? formatInterval(first.start_time, first.end_time, space.timezone) : "",
    }),
    "success",
  );
  if (!series.skipped?.length) return done;
  const skipped = series.skipped.map((one) =>
    h(
      "li",
      {},
      `${formatInterval(one.start_time, one.end_time, space.timezone)}: ${t(`series.skipped.${one.reason}`)}`,
      one.reason === "rule" && one.detail ? ` (${one.detail})` : "",
    ),
  );
  return h("div", {}, done, h("p", {}, t("series.notBooked")), h("ul", { class: "in-the-way" }, skipped));
}

function seriesConflict(problem, request, rule, where, options, space) {
  const taken = (problem.conflicts || []).map((occurrence) =>
    h("li", {}, formatInterval(occurrence.start_time, occurrence.end_time, space.timezone)),
  );
  return h(
    "div",
    { class: "conflict" },
    h("h2", { tabindex: "-1" }, t("series.conflict", { count: taken.length })),
    h("ul", { class: "in-the-way" }, taken),
    h(
      "p",
      {},
      h(
        "button",
        {
          type: "button",
          onclick: (event) => bookSeries(request, rule, where, event.currentTarget, options, "skip_conflicts"),
        },
        t("series.bookFree"),
      ),
    ),
  );
}
