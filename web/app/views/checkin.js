// Checking in with a space's printed QR code: /check-in?space=<id>&code=<code>.

import { api, signedIn } from "../api.js";
import { formatInterval, t } from "../i18n.js";
import { h, notice, title } from "../ui.js";
import { spaceOf } from "./booking.js";

export function view(spaceId, code) {
  const outcome = h("div", { class: "outcome", "aria-live": "polite" });
  if (!signedIn()) {
    sessionStorage.setItem("reservas.after", location.pathname + location.search);
    return h(
      "section",
      { class: "narrow" },
      title(t("checkin.title")),
      notice(t("checkin.signin")),
      h("p", {}, h("a", { href: "/#/signin" }, t("nav.signin"))),
    );
  }
  const button = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        button.disabled = true;
        try {
          const booking = await api("POST", "/reservations/check-in", { body: { space_id: spaceId, code } });
          const space = await spaceOf(booking.space_id);
          const when = formatInterval(booking.start_time, booking.end_time, space.timezone);
          outcome.replaceChildren(notice(t("checkin.done", { name: space.name, when }), "success"));
          button.remove();
        } catch (error) {
          button.disabled = false;
          outcome.replaceChildren(notice(error.problem?.detail || t("error.generic"), "error"));
        }
      },
    },
    t("checkin.button"),
  );
  return h("section", { class: "narrow" }, title(t("checkin.title")), h("p", {}, button), outcome);
}
