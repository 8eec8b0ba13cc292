// Pieces the Security tabs share: paging by `hasMore` (the Administrator API's users and roles
// lists say whether more follow, not how many there are), privilege names, and a form's state.
import { useState } from "preact/hooks";

/** Rows per page of the users and roles lists. */
export const PAGE_SIZE = 20;

/** The privileges a role can give, as ArcGIS names them, with what they mean. */
export const PRIVILEGES = [
  ["ADMINISTER", "Administer: unrestricted administrative access"],
  ["PUBLISH", "Publish: publish and manage services"],
  ["ACCESS", "Access: use the services it is allowed, no administrative access"],
];

/** Previous / next for lists that only say whether more follow. */
export function MorePager({ start, size = PAGE_SIZE, more, onStart, label }) {
  if (start === 0 && !more) return null;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" disabled={start <= 0} onClick={() => onStart(Math.max(0, start - size))}>
        Previous
      </button>
      <span>
        Page {Math.floor(start / size) + 1}
      </span>
      <button type="button" disabled={!more} onClick={() => onStart(start + size)}>
        Next
      </button>
    </nav>
  );
}

/** A form's values: `[values, bind, reset]`; `bind("name")` gives an input's value and onInput. */
export function useForm(initial) {
  const [values, setValues] = useState(initial);
  const bind = (name) => ({
    name,
    value: values[name],
    onInput: (event) => {
      const value = event.currentTarget.value;
      setValues((current) => ({ ...current, [name]: value }));
    },
  });
  return [values, bind, () => setValues(initial)];
}

/** Whether two account names are the same (the built-in store ignores case). */
export function sameName(a, b) {
  return String(a || "").toLowerCase() === String(b || "").toLowerCase();
}
