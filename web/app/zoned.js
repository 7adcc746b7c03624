// Wall-clock dates and times in a space's time zone, whatever the viewer's: the page shows and asks
// for a space's times as they are where the space is.

const parts = new Map();

function partsIn(timeZone) {
  if (!parts.has(timeZone)) {
    parts.set(
      timeZone,
      new Intl.DateTimeFormat("en-CA", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      }),
    );
  }
  return parts.get(timeZone);
}

function fields(instant, timeZone) {
  const found = {};
  for (const part of partsIn(timeZone).formatToParts(new Date(instant))) found[part.type] = part.value;
  return found;
}

// {date: "YYYY-MM-DD", time: "HH:MM"} of an instant in a time zone.
export function wallClock(instant, timeZone) {
  const at = fields(instant, timeZone);
  return { date: `${at.year}-${at.month}-${at.day}`, time: `${at.hour}:${at.minute}` };
}

export function todayIn(timeZone) {
  return wallClock(new Date(), timeZone).date;
}

function offset(milliseconds, timeZone) {
  const at = fields(milliseconds, timeZone);
  const asIfUtc = Date.UTC(+at.year, +at.month - 1, +at.day, +at.hour, +at.minute, +at.second);
  return asIfUtc - (milliseconds - (((milliseconds % 1000) + 1000) % 1000));
}

// The instant a wall-clock date ("YYYY-MM-DD") and time ("HH:MM") name in a time zone; null for a
// date or time that is not one. A time skipped by a daylight-saving change moves forward by the gap,
// as the API's series do.
export function instantAt(date, time, timeZone) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !/^\d{2}:\d{2}$/.test(time)) return null;
  const wall = Date.parse(`${date}T${time}:00Z`);
  if (Number.isNaN(wall)) return null;
  let guess = wall - offset(wall, timeZone);
  guess = wall - offset(guess, timeZone); // once more, for the offset at the instant itself
  return new Date(guess);
}

export function addDays(date, days) {
  const day = new Date(`${date}T12:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}

// How many days `later` ("YYYY-MM-DD") is after `date`.
export function daysBetween(date, later) {
  return Math.round((Date.parse(`${later}T12:00:00Z`) - Date.parse(`${date}T12:00:00Z`)) / 86400000);
}
