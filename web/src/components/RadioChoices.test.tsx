import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { RadioChoices, type Choice } from "./RadioChoices";

type Tool = "extend" | "stems";

const TOOLS: Choice<Tool>[] = [
  { value: "extend", label: "Extend" },
  { value: "stems", label: "Stems" },
];

function Tools() {
  const [tool, setTool] = useState<Tool>("extend");
  return (
    <>
      <RadioChoices legend="What do you want to make?" name="tool" options={TOOLS} value={tool} onChange={setTool} />
      <output>{tool}</output>
    </>
  );
}

describe("RadioChoices", () => {
  it("is a group named by its legend, one radio per option named by its label", () => {
    render(<Tools />);
    const group = screen.getByRole("group", { name: "What do you want to make?" });
    expect(group).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: "Extend" })).toBeChecked();
    expect(screen.getByRole("radio", { name: "Stems" })).not.toBeChecked();
  });

  it("hands the chosen option's value to onChange", async () => {
    render(<Tools />);
    await userEvent.click(screen.getByRole("radio", { name: "Stems" }));
    expect(screen.getByRole("radio", { name: "Stems" })).toBeChecked();
    expect(screen.getByRole("radio", { name: "Extend" })).not.toBeChecked();
    expect(screen.getByRole("status")).toHaveTextContent("stems");
  });
});
