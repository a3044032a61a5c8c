// The signed-in person's songs, each with its live status: searched, filtered
// by status and sorted, loading more as asked.
import { useState } from "react";
import { Link } from "react-router";
import { Field } from "@/components/Field";
import { useDebounced } from "@/lib/useDebounced";
import { SongStatus } from "@/gen/neutone/v1/song_pb";
import { MySongsOrder } from "@/gen/neutone/v1/song_service_pb";
import { useMySongs } from "../api/queries";
import { SongGrid } from "./SongGrid";

const STATUSES = [
  { value: SongStatus.UNSPECIFIED, label: "All" },
  { value: SongStatus.READY, label: "Ready" },
  { value: SongStatus.PROCESSING, label: "Being made" },
  { value: SongStatus.QUEUED, label: "Queued" },
  { value: SongStatus.FAILED, label: "Failed" },
];

const ORDERS = [
  { value: MySongsOrder.NEWEST, label: "Newest" },
  { value: MySongsOrder.OLDEST, label: "Oldest" },
  { value: MySongsOrder.TITLE, label: "Title (A-Z)" },
];

export function MySongsPage() {
  const [text, setText] = useState("");
  const [status, setStatus] = useState(SongStatus.UNSPECIFIED);
  const [order, setOrder] = useState(MySongsOrder.NEWEST);
  const filter = { text: useDebounced(text, 250).trim(), status, order };
  const filtered = filter.text !== "" || status !== SongStatus.UNSPECIFIED;
  const mine = useMySongs(filter);
  return (
    <section>
      <h1>My songs</h1>
      <div className="filters">
        <Field label="Search my songs">
          {(props) => (
            <input {...props} type="search" maxLength={200} value={text} onChange={(e) => setText(e.target.value)} />
          )}
        </Field>
        <Field label="Status">
          {(props) => (
            <select {...props} value={status} onChange={(e) => setStatus(Number(e.target.value) as SongStatus)}>
              {STATUSES.map((option) => (
                <option key={option.value} value={option.value}>
                  {option.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Sort by">
          {(props) => (
            <select {...props} value={order} onChange={(e) => setOrder(Number(e.target.value) as MySongsOrder)}>
              {ORDERS.map((option) => (
                <option key={option.value} value={option.value}>
                  {option.label}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <SongGrid
        query={mine}
        showOwner={false}
        empty={
          filtered ? (
            <p>None of your songs matches.</p>
          ) : (
            <p>
              No songs yet. <Link to="/create">Create your first song</Link>.
            </p>
          )
        }
      />
    </section>
  );
}
