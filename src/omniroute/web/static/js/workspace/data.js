// What the server rendered for this page: the signed-in agent, limits, endpoints and queues.

const element = document.getElementById('workspace-data');

/** @type {{userId: string, role: string, locale: string,
 *   offerTimeout: number, maxSessions: number, endpoints: string[],
 *   queues: {id: string, name: string, serviceLevelSeconds: number}[],
 *   preferences: ?{sound: string, desktop: string, title_template: string, body_template: string}}}
 *   preferences: the user record's workspace settings, null until first saved */
export const page = JSON.parse(element.textContent);

export const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

const ROLE_RANK = { agent: 1, supervisor: 2, admin: 3 };

export function isSupervisor() {
  return (ROLE_RANK[page.role] || 0) >= ROLE_RANK.supervisor;
}

export function queueById(id) {
  return page.queues.find((q) => q.id === id) || null;
}
