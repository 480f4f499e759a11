/// <reference lib="dom" />
/** The keys the page answers to, and the `?` panel that lists them. */

export const KEYS: readonly [string, string][] = [
  ["j / k", "next / previous turn (also ↓ / ↑); after scrolling, the turn in view"],
  ["] / [", "next / previous conversation (also n / p)"],
  ["f", "the full request / only what is new"],
  ["r", "raw request of the selected turn (redacted)"],
  ["R", "raw response of the selected turn (redacted)"],
  ["c", "copy the selected turn as cURL (redacted)"],
  ["/", "search every session"],
  ["Esc", "close this panel or the sessions column, clear the search"],
  ["?", "this panel"],
];

export function Help({ onClose }: { onClose(): void }) {
  return (
    <div class="helpback" onClick={onClose}>
      <div
        class="help"
        role="dialog"
        aria-label="Keyboard keys"
        onClick={(e) => e.stopPropagation()}
      >
        <h2>Keys</h2>
        <table>
          <tbody>
            {KEYS.map(([k, what]) => (
              <tr key={k}>
                <td>
                  <kbd>{k}</kbd>
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" class="btn" onClick={onClose}>close (Esc)</button>
      </div>
    </div>
  );
}
