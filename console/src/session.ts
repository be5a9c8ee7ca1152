/** The token the console acts with, kept for this browser tab's session only (sessionStorage). */
const KEY = 'trialcast:token';

export const session = {
  token: (): string | null => sessionStorage.getItem(KEY),
  signIn: (token: string) => sessionStorage.setItem(KEY, token),
  signOut: () => sessionStorage.removeItem(KEY),
};
