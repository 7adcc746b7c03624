// Talking to the API, on the page's own origin. The access token lives in this module's memory only;
// the refresh token in an HttpOnly cookie the API sets (scripts never see it), sent back only to /auth
// and only with the X-Refresh-Cookie header, which no other site can add to a request.

const REFRESH = { "X-Refresh-Cookie": "1" };
let accessToken = null;
let account = null;
let refreshing = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function signedIn() {
  return account;
}

export function onSessionChange(listener) {
  listeners.add(listener);
}

function setSession(pair) {
  accessToken = pair ? pair.access_token : null;
  account = pair ? pair.user : null;
  listeners.forEach((listener) => listener(account));
}

async function send(method, path, body, headers, anonymous = false) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (accessToken && !anonymous) init.headers.Authorization = `Bearer ${accessToken}`;
  try {
    return await fetch(path, init);
  } catch {
    throw new ApiError(0, { detail: null, network: true });
  }
}

async function answer(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const content = type.includes("json") ? await response.json() : { detail: await response.text() };
  if (!response.ok) throw new ApiError(response.status, content);
  return content;
}

export async function api(method, path, { body, headers = {} } = {}) {
  let response = await send(method, path, body, headers);
  if (response.status === 401 && accessToken && (await refresh())) {
    response = await send(method, path, body, headers);
  }
  return answer(response);
}

// One refresh at a time, however many requests found the access token expired.
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const response = await send("POST", "/auth/refresh", undefined, REFRESH, true);
        if (!response.ok) {
          setSession(null);
          return false;
        }
        setSession(await response.json());
        return true;
      } catch {
        return false;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

export async function signIn(email, password) {
  const response = await send("POST", "/auth/login", { email, password }, REFRESH, true);
  setSession(await answer(response));
}

export async function verify(token, password) {
  const response = await send("POST", "/auth/verify", { token, password }, REFRESH, true);
  setSession(await answer(response));
}

export async function signOut() {
  try {
    await send("POST", "/auth/logout", undefined, REFRESH);
  } finally {
    setSession(null);
  }
}
