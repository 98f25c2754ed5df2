// Echo: answers with the request it was given.
export function handle(request: string): string {
  return request;
}
