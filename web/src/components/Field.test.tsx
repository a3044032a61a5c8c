import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { InputField } from "./Field";

describe("InputField", () => {
  it("shows the server's field violation under its field, tied to it", () => {
    render(
      <InputField label="Duration (seconds)" hint="10-240." error="must be between 10 and 240" value="5" onChange={() => undefined} />,
    );
    const input = screen.getByLabelText("Duration (seconds)");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByRole("alert")).toHaveTextContent("must be between 10 and 240");
    expect(input).toHaveAccessibleDescription("10-240. must be between 10 and 240");
  });

  it("is valid while the server has nothing to say about it", () => {
    render(<InputField label="Title" value="" onChange={() => undefined} />);
    expect(screen.getByLabelText("Title")).toHaveAttribute("aria-invalid", "false");
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
