/** `1 flow`, `2 flows`; `entries` where the plural is not the noun with an s. */
export const count = (n: number, noun: string, nouns = `${noun}s`): string => `${n} ${n === 1 ? noun : nouns}`;
