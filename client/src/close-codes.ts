/**
 * Close codes after which the client does not reconnect: 1008 (policy violation) and the
 * application range 4000–4999 (for example 4001 logged out, 4008 too slow to keep up, 4009
 * closed by a staff member from the Django admin's live page). The server used them to turn
 * this client away; coming back would only be turned away again (after 4009: an operator
 * wanted this connection gone, and a reload of the page is the way back).
 * Every other code, 1001 (server going away) and 1006 (connection lost) included, reconnects.
 */
export function stopsReconnection(code: number): boolean {
  return code === 1008 || (code >= 4000 && code <= 4999);
}
