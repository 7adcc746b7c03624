// Words in English and Spanish, and dates, times and money formatted for the language (Intl).

const MESSAGES = {
  en: {
    "skip": "Skip to content",
    "language": "Language",
    "nav.find": "Find a space",
    "nav.bookings": "My bookings",
    "nav.admin": "Spaces (admin)",
    "nav.signin": "Sign in",
    "nav.register": "Register",
    "nav.signout": "Sign out",
    "signin.title": "Sign in",
    "signin.submit": "Sign in",
    "signin.forgot": "Forgot your password?",
    "signin.new": "New here? Register",
    "field.email": "Email",
    "field.password": "Password",
    "field.newPassword": "New password",
    "field.name": "Name",
    "field.date": "Date",
    "field.start": "Start",
    "field.duration": "Length",
    "field.people": "People",
    "field.amenities": "Amenities (comma-separated)",
    "field.notes": "Notes",
    "register.title": "Create an account",
    "register.submit": "Register",
    "register.hint": "At least 10 characters; a phrase is easiest to remember.",
    "verify.title": "Confirm your address",
    "verify.intro": "Enter the password you chose when you registered.",
    "verify.submit": "Confirm",
    "forgot.title": "Choose a new password",
    "forgot.intro": "We will email you a link.",
    "forgot.submit": "Send the link",
    "reset.title": "Choose a new password",
    "reset.submit": "Save the new password",
    "reset.done": "Your password is changed. Sign in with it.",
    "find.title": "Find a free space",
    "find.submit": "Search",
    "find.none": "No space is free then. Try another time or fewer people.",
    "find.results": { one: "{count} free space", other: "{count} free spaces" },
    "find.book": "Book {name}",
    "find.day": "See the day",
    "minutes": "{count} min",
    "hours": "{count} h",
    "people": { one: "{count} person", other: "{count} people" },
    "book.done": "Booked: {name}, {when}.",
    "book.conflict": "That time is taken.",
    "book.inTheWay": "In the way: {when}",
    "book.suggestions": "Free instead:",
    "book.take": "Book {name}, {when}",
    "book.noSuggestions": "Nothing close is free.",
    "book.signinFirst": "Sign in to book.",
    "space.title": "{name}",
    "space.day": "The day at {name}",
    "space.zone": "Times in {zone}",
    "space.yourZone": "your time: {when}",
    "space.free": "Free",
    "space.busy": "Booked or closed",
    "space.noSlots": "Nothing free on this day.",
    "space.slot": "Book {when}",
    "space.prev": "Previous day",
    "space.next": "Next day",
    "bookings.title": "My bookings",
    "bookings.upcoming": "Upcoming",
    "bookings.past": "Past",
    "bookings.none": "Nothing here.",
    "bookings.cancel": "Cancel this booking",
    "bookings.cancelled": "Cancelled: {name}, {when}.",
    "bookings.confirm": "Cancel the booking of {name}, {when}?",
    "status.active": "Booked",
    "status.pending": "Waiting for approval",
    "status.cancelled": "Cancelled",
    "status.completed": "Done",
    "status.released": "Released (no check-in)",
    "status.declined": "Declined",
    "status.expired": "Expired",
    "admin.title": "Spaces",
    "admin.new": "New space",
    "admin.edit": "Edit",
    "admin.deactivate": "Deactivate",
    "admin.deactivated": "{name} takes no more bookings.",
    "admin.inactive": "inactive",
    "admin.saved": "Saved: {name}.",
    "admin.create": "Create the space",
    "admin.save": "Save",
    "admin.back": "Back to the spaces",
    "field.capacity": "Capacity",
    "field.location": "Location",
    "field.description": "Description",
    "field.timezone": "Time zone",
    "field.price": "Price per hour",
    "field.currency": "Currency",
    "hours.title": "Opening hours",
    "hours.open": "Open on {day}",
    "hours.from": "Opens",
    "hours.to": "Closes",
    "hours.midnight": "Open until midnight",
    "hours.invalid": "Closing must come after opening.",
    "hours.overlap": "Hours on one day must not overlap.",
    "hours.add": "Add hours",
    "hours.remove": "Remove these hours",
    "error.generic": "Something went wrong. Try again.",
    "error.network": "The service cannot be reached. Check your connection and try again.",
    "error.fix": "Please correct the fields marked below.",
    "signedInAs": "Signed in as {name}",
    "register.sent": "Check your inbox: we sent a link to verify the address. Open it and confirm with your password.",
    "forgot.sent": "If the address has an account, a link to choose a new password is on its way.",
    "signin.failed": "The email or password is not right, or the address is not verified yet.",
    "book.closed": "The space is closed for part of that time.",
    "find.past": "That time has passed: choose a later one.",
    "find.years": "Choose a date between 1970 and 2199.",
    "find.zone": "Times in {zone}; yours: {when}",
    "waitlist.join": "Wait for this time (waitlist)",
    "waitlist.joined": "You are on the waitlist: if this time frees up, it is booked for you and you are told.",
    "waitlist.title": "Waiting for a time",
    "waitlist.leave": "Leave the waitlist",
    "waitlist.left": "You left the waitlist.",
    "waitlist.status.waiting": "Waiting",
    "waitlist.status.promoted": "Booked for you",
    "waitlist.status.expired": "Expired",
    "checkin.title": "Check in",
    "checkin.button": "Check in now",
    "checkin.done": "Checked in: {name}, {when}.",
    "checkin.signin": "Sign in to check in.",
    "checkin.checkedIn": "Checked in",
    "decide.title": "Waiting for your decision",
    "decide.approve": "Approve",
    "decide.decline": "Decline",
    "decide.reason": "Why is it declined?",
    "decide.approved": "Approved.",
    "decide.declined": "Declined.",
    "loading": "Loading…",
  },
  es: {
    "skip": "Ir al contenido",
    "language": "Idioma",
    "nav.find": "Buscar un espacio",
    "nav.bookings": "Mis reservas",
    "nav.admin": "Espacios (admin)",
    "nav.signin": "Entrar",
    "nav.register": "Registrarse",
    "nav.signout": "Salir",
    "signin.title": "Entrar",
    "signin.submit": "Entrar",
    "signin.forgot": "¿Olvidaste tu contraseña?",
    "signin.new": "¿Eres nuevo? Regístrate",
    "field.email": "Correo electrónico",
    "field.password": "Contraseña",
    "field.newPassword": "Nueva contraseña",
    "field.name": "Nombre",
    "field.date": "Fecha",
    "field.start": "Inicio",
    "field.duration": "Duración",
    "field.people": "Personas",
    "field.amenities": "Equipamiento (separado por comas)",
    "field.notes": "Notas",
    "register.title": "Crear una cuenta",
    "register.submit": "Registrarse",
    "register.hint": "Al menos 10 caracteres; una frase es más fácil de recordar.",
    "verify.title": "Confirma tu dirección",
    "verify.intro": "Escribe la contraseña que elegiste al registrarte.",
    "verify.submit": "Confirmar",
    "forgot.title": "Elige una nueva contraseña",
    "forgot.intro": "Te enviaremos un enlace por correo.",
    "forgot.submit": "Enviar el enlace",
    "reset.title": "Elige una nueva contraseña",
    "reset.submit": "Guardar la nueva contraseña",
    "reset.done": "Tu contraseña ha cambiado. Entra con ella.",
    "find.title": "Buscar un espacio libre",
    "find.submit": "Buscar",
    "find.none": "No hay ningún espacio libre entonces. Prueba otra hora o menos personas.",
    "find.results": { one: "{count} espacio libre", other: "{count} espacios libres" },
    "find.book": "Reservar {name}",
    "find.day": "Ver el día",
    "minutes": "{count} min",
    "hours": "{count} h",
    "people": { one: "{count} persona", other: "{count} personas" },
    "book.done": "Reservado: {name}, {when}.",
    "book.conflict": "Esa hora está ocupada.",
    "book.inTheWay": "Ocupado: {when}",
    "book.suggestions": "Libre en su lugar:",
    "book.take": "Reservar {name}, {when}",
    "book.noSuggestions": "No hay nada libre cerca.",
    "book.signinFirst": "Entra para reservar.",
    "space.title": "{name}",
    "space.day": "El día en {name}",
    "space.zone": "Horas en {zone}",
    "space.yourZone": "tu hora: {when}",
    "space.free": "Libre",
    "space.busy": "Reservado o cerrado",
    "space.noSlots": "No hay nada libre este día.",
    "space.slot": "Reservar {when}",
    "space.prev": "Día anterior",
    "space.next": "Día siguiente",
    "bookings.title": "Mis reservas",
    "bookings.upcoming": "Próximas",
    "bookings.past": "Pasadas",
    "bookings.none": "Nada por aquí.",
    "bookings.cancel": "Cancelar esta reserva",
    "bookings.cancelled": "Cancelada: {name}, {when}.",
    "bookings.confirm": "¿Cancelar la reserva de {name}, {when}?",
    "status.active": "Reservada",
    "status.pending": "Pendiente de aprobación",
    "status.cancelled": "Cancelada",
    "status.completed": "Terminada",
    "status.released": "Liberada (sin registro de entrada)",
    "status.declined": "Rechazada",
    "status.expired": "Caducada",
    "admin.title": "Espacios",
    "admin.new": "Nuevo espacio",
    "admin.edit": "Editar",
    "admin.deactivate": "Desactivar",
    "admin.deactivated": "{name} ya no admite reservas.",
    "admin.inactive": "inactivo",
    "admin.saved": "Guardado: {name}.",
    "admin.create": "Crear el espacio",
    "admin.save": "Guardar",
    "admin.back": "Volver a los espacios",
    "field.capacity": "Capacidad",
    "field.location": "Ubicación",
    "field.description": "Descripción",
    "field.timezone": "Zona horaria",
    "field.price": "Precio por hora",
    "field.currency": "Moneda",
    "hours.title": "Horario",
    "hours.open": "Abierto el {day}",
    "hours.from": "Abre",
    "hours.to": "Cierra",
    "hours.midnight": "Abierto hasta medianoche",
    "hours.invalid": "El cierre debe ser posterior a la apertura.",
    "hours.overlap": "Los horarios de un día no deben solaparse.",
    "hours.add": "Añadir horario",
    "hours.remove": "Quitar este horario",
    "error.generic": "Algo ha fallado. Inténtalo de nuevo.",
    "error.network": "No se puede contactar con el servicio. Comprueba tu conexión e inténtalo de nuevo.",
    "error.fix": "Corrige los campos marcados abajo.",
    "signedInAs": "Has entrado como {name}",
    "register.sent": "Revisa tu correo: te hemos enviado un enlace para verificar la dirección. Ábrelo y confirma con tu contraseña.",
    "forgot.sent": "Si la dirección tiene una cuenta, te llegará un enlace para elegir una nueva contraseña.",
    "signin.failed": "El correo o la contraseña no son correctos, o la dirección aún no está verificada.",
    "book.closed": "El espacio está cerrado durante parte de esa hora.",
    "find.past": "Esa hora ya ha pasado: elige una posterior.",
    "find.years": "Elige una fecha entre 1970 y 2199.",
    "find.zone": "Horas en {zone}; las tuyas: {when}",
    "waitlist.join": "Esperar esta hora (lista de espera)",
    "waitlist.joined": "Estás en la lista de espera: si esta hora queda libre, se reserva para ti y te avisamos.",
    "waitlist.title": "Esperando una hora",
    "waitlist.leave": "Salir de la lista de espera",
    "waitlist.left": "Has salido de la lista de espera.",
    "waitlist.status.waiting": "Esperando",
    "waitlist.status.promoted": "Reservada para ti",
    "waitlist.status.expired": "Caducada",
    "checkin.title": "Registrar la entrada",
    "checkin.button": "Registrar la entrada ahora",
    "checkin.done": "Entrada registrada: {name}, {when}.",
    "checkin.signin": "Entra para registrar la entrada.",
    "checkin.checkedIn": "Entrada registrada",
    "decide.title": "Pendientes de tu decisión",
    "decide.approve": "Aprobar",
    "decide.decline": "Rechazar",
    "decide.reason": "¿Por qué se rechaza?",
    "decide.approved": "Aprobada.",
    "decide.declined": "Rechazada.",
    "loading": "Cargando…",
  },
};

const STORED = "reservas.language";
let current = pick();

function pick() {
  const chosen = localStorage.getItem(STORED);
  if (chosen && chosen in MESSAGES) return chosen;
  for (const wanted of navigator.languages || [navigator.language || "en"]) {
    const base = wanted.toLowerCase().split("-")[0];
    if (base in MESSAGES) return base;
  }
  return "en";
}

export function language() {
  return current;
}

export function setLanguage(code) {
  if (!(code in MESSAGES)) return;
  current = code;
  localStorage.setItem(STORED, code);
  document.documentElement.lang = code;
}

export function t(key, values = {}) {
  let text = MESSAGES[current][key] ?? MESSAGES.en[key] ?? key;
  if (typeof text === "object") text = text[new Intl.PluralRules(current).select(Number(values.count))] ?? text.other;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
}

export function weekdays() {
  // Monday first, as the API's opening hours are keyed: mon, tue, ...
  const monday = new Date(Date.UTC(2024, 0, 1)); // a Monday
  return ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((key, index) => ({
    key,
    name: new Intl.DateTimeFormat(current, { weekday: "long", timeZone: "UTC" }).format(
      new Date(monday.getTime() + index * 86400000),
    ),
  }));
}

export function formatTime(instant, timeZone) {
  return new Intl.DateTimeFormat(current, { hour: "2-digit", minute: "2-digit", timeZone }).format(new Date(instant));
}

export function formatDay(instant, timeZone) {
  return new Intl.DateTimeFormat(current, { weekday: "long", day: "numeric", month: "long", timeZone }).format(
    new Date(instant),
  );
}

export function formatInterval(start, end, timeZone) {
  return `${formatDay(start, timeZone)}, ${formatTime(start, timeZone)}–${formatTime(end, timeZone)}`;
}

export function formatMoney(money) {
  if (!money) return "";
  return new Intl.NumberFormat(current, { style: "currency", currency: money.currency }).format(Number(money.amount));
}

export function zoneName(timeZone) {
  const parts = new Intl.DateTimeFormat(current, { timeZone, timeZoneName: "long" }).formatToParts(new Date());
  const name = parts.find((part) => part.type === "timeZoneName");
  return name ? `${name.value} (${timeZone})` : timeZone;
}
