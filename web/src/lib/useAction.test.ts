import { act, renderHook } from "@testing-library/react";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { useAction } from "./useAction";

describe("useAction", () => {
  it("is busy while the request runs", async () => {
    const { result } = renderHook(() => useAction());
    let finish = () => {};
    let running!: Promise<void>;
    act(() => {
      running = result.current.run(() => new Promise<void>((resolve) => (finish = resolve)));
    });
    expect(result.current.busy).toBe(true);
    await act(async () => {
      finish();
      await running;
    });
    expect(result.current.busy).toBe(false);
    expect(result.current.problem).toBeNull();
  });

  it("keeps the server's problem until the next try", async () => {
    const { result } = renderHook(() => useAction());
    await act(() =>
      result.current.run(async () => {
        throw new ConnectError("email is taken", Code.AlreadyExists);
      }),
    );
    expect(result.current.problem?.message).toBe("email is taken");
    expect(result.current.fields).toEqual({});
    await act(() => result.current.run(async () => {}));
    expect(result.current.problem).toBeNull();
  });
});
