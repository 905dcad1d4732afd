import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Api, Session } from "./api";

export interface Signed {
  api: Api;
  session: Session;
}

export const SignedIn = createContext<Signed | null>(null);

export function useSigned(): Signed {
  const value = useContext(SignedIn);
  if (value === null) throw new Error("useSigned outside a signed-in console");
  return value;
}
