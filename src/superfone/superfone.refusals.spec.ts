import { appReadRefusal, changeRefusal } from './superfone.refusals';
import {
  AppNotFoundError,
  NumberAlreadyLinkedError,
  NumberNotFoundError,
  NumberNotLinkedError,
  NumberRejectedError,
} from './upstream.errors';

describe(changeRefusal.name, () => {
  it.each([
    [404, 'App not found', AppNotFoundError],
    [404, 'SFVoPI app not found', AppNotFoundError],
    [404, 'sfvopi APP not found', AppNotFoundError],
    [404, 'Number not linked to this app', NumberNotLinkedError],
    [400, 'VoIP number not found or does not belong to this org', NumberNotFoundError],
    [400, 'Number not found: +918000000001', NumberNotFoundError],
    [404, 'Number not found', NumberNotFoundError],
    [409, 'VoIP number is already linked to another SFVoPI app', NumberAlreadyLinkedError],
    [409, undefined, NumberAlreadyLinkedError],
    [400, 'Invalid phone number', NumberRejectedError],
    [400, undefined, NumberRejectedError],
  ])('maps %i %s to its refusal', (status, message, type) => {
    const sut = changeRefusal(status, message);

    expect(sut).toBeInstanceOf(type);
    expect(sut?.upstreamStatus).toBe(status);
  });

  it.each([
    [404, 'Not Found'],
    [404, undefined],
    [500, 'Failed to link number: db down'],
    [422, 'App not found'],
  ])('leaves %i %s an upstream error', (status, message) => {
    expect(changeRefusal(status, message)).toBeUndefined();
  });
});

describe(appReadRefusal.name, () => {
  it('knows only the unknown app', () => {
    expect(appReadRefusal(404, 'App not found')).toBeInstanceOf(AppNotFoundError);
    expect(appReadRefusal(404, 'Number not linked to this app')).toBeUndefined();
    expect(appReadRefusal(409, 'x')).toBeUndefined();
    expect(appReadRefusal(400, 'Invalid phone number')).toBeUndefined();
  });
});
